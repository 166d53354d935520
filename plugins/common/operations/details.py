"""One batch's or one request's whole story: what was sent, what the provider answered, what
was stored, the error, attempts and cost. Bounded: a batch shows its members by state and one
page of them; a request shows its own session's messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from plugins.common.operations.filters import Filters
from plugins.common.operations.listing import (
    batch_columns,
    batch_row,
    iso,
    list_requests,
)
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession, Message
from plugins.common.schema.statuses import RequestStatus
from plugins.common.session_tasks import SESSION_FIELDS

SESSION_RESULT_FIELDS = SESSION_FIELDS
MAX_MESSAGES = 500


def batch_detail(
    conn: Connection, batch_id: str, *, page: int = 1, page_size: int = 50
) -> dict[str, Any] | None:
    """The batch, its members by state and one page of its members; None if there is none."""
    b = AIBatchRequest
    row = conn.execute(select(*batch_columns(), b.errors, b.note).where(b.id == batch_id)).first()
    if row is None:
        return None
    out = batch_row(row)
    out["errors"] = [
        {"code": e.get("code"), "message": str(e.get("message", "")), "line": e.get("line")}
        for e in (row.errors or [])
        if isinstance(e, dict)
    ]
    out["note"] = row.note
    r = AIProcessingRequest
    out["members_by_state"] = {
        status: int(n)
        for status, n in conn.execute(
            select(r.status, func.count()).where(r.batch_id == batch_id).group_by(r.status)
        )
    }
    out["members"] = list_requests(conn, Filters(batch=batch_id), page, page_size).as_dict()
    return out


def _answer(raw: str | None) -> dict[str, Any] | None:
    """The provider's stored answer line, with the model's text picked out when there is one."""
    if raw is None:
        return None
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"line": raw, "text": None, "status_code": None, "error": None}
    response = line.get("response") if isinstance(line, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    text = None
    if isinstance(body, dict):
        choices = body.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message") or {}
            text = message.get("content") if isinstance(message, dict) else None
        if text is None and isinstance(body.get("output_text"), str):
            text = body["output_text"]
    error = line.get("error") if isinstance(line, dict) else None
    if error is None and isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
    return {
        "line": orjson.dumps(line, option=orjson.OPT_INDENT_2).decode(),
        "text": text if isinstance(text, str) else None,
        "status_code": response.get("status_code") if isinstance(response, dict) else None,
        "error": error,
    }


def request_detail(
    conn: Connection, request_id: str, instructions: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The request: its input (instructions and messages), the provider's raw answer, the
    stored result or the error, attempts, tokens and cost; None if there is none."""
    r = AIProcessingRequest
    s = ChatSession
    row = conn.execute(
        select(
            *r.__table__.c,
            s.external_id,
            s.start_time,
            *(getattr(s, name) for name in SESSION_RESULT_FIELDS),
        )
        .join(s, s.id == r.session_id)
        .where(r.id == request_id)
    ).first()
    if row is None:
        return None
    request = row
    mapping = row._mapping
    messages = conn.execute(
        select(Message.position, Message.role, Message.content, Message.sent_at)
        .where(Message.session_id == request.session_id)
        .order_by(Message.position)
        .limit(MAX_MESSAGES + 1)
    ).all()
    result: dict[str, Any] | None = None
    if request.status == RequestStatus.PROCESSING_COMPLETE.value:
        stored = mapping.get("result_json")
        result = (
            dict(stored)
            if isinstance(stored, dict)
            else {
                name: mapping[name] for name in SESSION_RESULT_FIELDS if mapping[name] is not None
            }
        )
    out = {
        "id": request.id,
        "company_id": request.company_id,
        "session_id": request.session_id,
        "session": mapping["external_id"],
        "session_start": iso(mapping["start_time"]),
        "task": request.processing_type,
        "model": request.model,
        "state": request.status,
        "attempts": int(request.attempts or 0),
        "batch_id": request.batch_id,
        "requested_at": iso(request.requested_at),
        "available_at": iso(request.available_at),
        "completed_at": iso(request.completed_at),
        "input_tokens": int(request.prompt_tokens or 0),
        "output_tokens": int(request.completion_tokens or 0),
        "cached_tokens": int(request.cached_tokens or 0),
        "cost_usd": float(request.total_cost_usd or 0.0),
        "provider_request_id": request.provider_request_id,
        "error": request.error,
        "input": {
            "instructions": (instructions or {}).get(request.processing_type),
            "messages": [
                {
                    "position": m.position,
                    "role": m.role,
                    "content": m.content,
                    "sent_at": iso(m.sent_at),
                }
                for m in messages[:MAX_MESSAGES]
            ],
            "more_messages": len(messages) > MAX_MESSAGES,
        },
        "answer": _answer(request.raw_answer),
        "result": result,
    }
    if "provider" in mapping:
        out["provider"] = mapping["provider"]
    return out
