"""The product's tables as SQLAlchemy 2 models: tenants, chat sessions and their messages,
requests, batches, prices, budget holds, the audit log and monitoring samples. Status columns are
strings checked against the enums of :mod:`.statuses` and :class:`kernel.types.BatchStatus` (a
session's sentiment and category against the values below), the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.db.models import Base, utcnow
from kernel.types import BatchStatus
from plugins.common.schema.statuses import CompanyStatus, RequestStatus

PENDING = RequestStatus.PENDING_BATCHING.value
SENTIMENTS = ("POSITIVE", "NEUTRAL", "NEGATIVE")
"""What ``chat_sessions.sentiment`` accepts (its CHECK, created by migration 0001)."""
CATEGORIES = (
    "SCHEDULE_HOURS",
    "LEAVE_VACATION",
    "SICK_LEAVE_RECOVERY",
    "SALARY_COMPENSATION",
    "CONTRACT_HOURS",
    "ONBOARDING",
    "OFFBOARDING",
    "WORKWEAR_STAFF_PASS",
    "TEAM_CONTACTS",
    "PERSONAL_QUESTIONS",
    "ACCESS_LOGIN",
    "SOCIAL_QUESTIONS",
    "UNRECOGNIZED_OTHER",
)
"""What ``chat_sessions.category`` accepts (its CHECK, created by migration 0001)."""


def new_id() -> str:
    """A new random primary key (UUID4 text: portable and usable as a ``custom_id``)."""
    return str(uuid.uuid4())


def _in_list(column: str, values: Iterable[str]) -> str:
    """SQL for a CHECK that ``column`` holds one of ``values`` (an enum's, or a tuple)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Company(Base):
    """A tenant. Only ACTIVE companies are processed; a paused one (``paused_at`` set) is not
    claimed from, while its batches already at the provider finish. ``providers``: its own
    provider list for routing, primary first (NULL: ``routing.providers``)."""

    __tablename__ = "companies"
    __table_args__ = (
        CheckConstraint(_in_list("status", CompanyStatus), name="status"),
        Index(None, "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=CompanyStatus.ACTIVE.value)
    weight: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1.0"))
    paused_at: Mapped[datetime | None]
    providers: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[ChatSession]] = relationship(back_populates="company")


class ChatSession(Base):
    """One HR-support chat session; receives the analysis results."""

    __tablename__ = "chat_sessions"
    __table_args__ = (
        UniqueConstraint("company_id", "external_id"),
        CheckConstraint(
            "sentiment IS NULL OR " + _in_list("sentiment", SENTIMENTS), name="sentiment"
        ),
        CheckConstraint("category IS NULL OR " + _in_list("category", CATEGORIES), name="category"),
        Index(None, "company_id", "start_time"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    transcript_chars: Mapped[int | None] = mapped_column(Integer)
    transcript_bytes: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10))
    escalated: Mapped[bool | None] = mapped_column(Boolean)
    forwarded_hr: Mapped[bool | None] = mapped_column(Boolean)
    questions: Mapped[list[str] | None] = mapped_column(JSON)
    analyzed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    company: Mapped[Company] = relationship(back_populates="sessions")
    messages: Mapped[list[Message]] = relationship(
        back_populates="session", order_by="Message.position", cascade="all, delete-orphan"
    )
    requests: Mapped[list[AIProcessingRequest]] = relationship(back_populates="session")


class Message(Base):
    """One line of a chat session, ordered by ``position`` (unique per session)."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(50))
    content: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None]

    session: Mapped[ChatSession] = relationship(back_populates="messages")


class AIBatchRequest(Base):
    """One local batch: a provider batch, or the intent to create one (PLANNED)."""

    __tablename__ = "ai_batch_requests"
    __table_args__ = (
        CheckConstraint(_in_list("status", BatchStatus), name="status"),
        Index(None, "company_id", "status"),
        Index(None, "status", "created_at"),
        Index(None, "admitted_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    model: Mapped[str] = mapped_column(String(100))
    processing_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.PLANNED.value)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_batch_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    input_file_id: Mapped[str | None] = mapped_column(String(128))
    output_file_id: Mapped[str | None] = mapped_column(String(128))
    error_file_id: Mapped[str | None] = mapped_column(String(128))
    request_count: Mapped[int] = mapped_column(Integer, default=0)
    input_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    estimated_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    estimated_output_tokens: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )
    estimated_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    actual_input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    actual_output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    actual_cost_usd: Mapped[float | None] = mapped_column(Float)
    admitted_at: Mapped[datetime | None]
    counts_total: Mapped[int] = mapped_column(Integer, default=0)
    counts_completed: Mapped[int] = mapped_column(Integer, default=0)
    counts_failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    files_deleted_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32), default="openai", server_default="openai")

    requests: Mapped[list[AIProcessingRequest]] = relationship(back_populates="batch")


class AIProcessingRequest(Base):
    """One AI job: one session and one task (``processing_type`` holds the task name). Its id is
    the batch line's ``custom_id``; ``result_json`` is the validated answer, ``provider`` who
    gave it."""

    __tablename__ = "ai_processing_requests"
    __table_args__ = (
        UniqueConstraint("session_id", "processing_type"),
        CheckConstraint(_in_list("status", RequestStatus), name="status"),
        Index(None, "status", "requested_at"),
        Index(None, "batch_id"),
        Index(None, "status", "batch_id"),
        Index(None, "processing_type", "status", "completed_at"),
        Index(
            "ix_ai_processing_requests_pending",
            "company_id",
            "available_at",
            postgresql_where=text(f"status = '{PENDING}'"),
            sqlite_where=text(f"status = '{PENDING}'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    processing_type: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(24), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("ai_batch_requests.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    total_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    prompt_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    completion_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    total_cost_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    price_id: Mapped[int | None] = mapped_column(ForeignKey("ai_model_prices.id"))
    provider_request_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    provider: Mapped[str | None] = mapped_column(String(32))
    raw_answer: Mapped[str | None] = mapped_column(Text)

    session: Mapped[ChatSession] = relationship(back_populates="requests")
    batch: Mapped[AIBatchRequest | None] = relationship(back_populates="requests")


class AIModel(Base):
    """A model requests can be sent to."""

    __tablename__ = "ai_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    provider: Mapped[str] = mapped_column(String(50), default="openai")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    prices: Mapped[list[AIModelPrice]] = relationship(back_populates="model")


class AIModelPrice(Base):
    """A model's prices in USD per million tokens over a validity window."""

    __tablename__ = "ai_model_prices"
    __table_args__ = (Index(None, "model_id", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ai_models.id", ondelete="CASCADE"))
    input_per_million: Mapped[float] = mapped_column(Float)
    cached_input_per_million: Mapped[float] = mapped_column(Float)
    output_per_million: Mapped[float] = mapped_column(Float)
    batch_discount: Mapped[float] = mapped_column(Float, default=0.5)
    effective_from: Mapped[datetime] = mapped_column(default=utcnow)
    effective_until: Mapped[datetime | None]

    model: Mapped[AIModel] = relationship(back_populates="prices")


class BudgetHold(Base):
    """Why a company's or a model's work waits (a budget or a limit), and what it needs to go on.

    ``scope`` is ``company:<id>`` (``need`` in USD) or ``model:<name>`` (``need`` in enqueued
    tokens); the row is dropped as soon as work of that scope is admitted again.
    """

    __tablename__ = "budget_holds"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    need: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One operator action (cancel, retry, pause...): who, what, on which target, when, result."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"), Index(None, "company_id", "at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class MetricsSample(Base):
    """The monitoring totals at one minute, written once a minute by whichever process (a
    scheduler or ``serve``) gets there first, so charts have history across restarts."""

    __tablename__ = "metrics_samples"

    minute: Mapped[datetime] = mapped_column(primary_key=True)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    in_flight: Mapped[int] = mapped_column(BigInteger, default=0)
    complete: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    batches_open: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
