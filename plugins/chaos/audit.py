"""The invariants a chaos run must end with, checked against the database and the provider ledger.

Exactly-once application is checked from first principles: the emulator's token usage is a pure
function of a request's input line, so a completed request must carry exactly one line's usage
(twice that means a result was applied twice) and a failed one none or one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from kernel.types import BatchStatus
from plugins.common.schema.statuses import RequestStatus

TERMINAL = {RequestStatus.PROCESSING_COMPLETE, RequestStatus.PROCESSING_FAILED}
SETTLED_BATCHES = {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}


@dataclass
class Audit:
    """What the audit found: counts for the report and a list of violated invariants."""

    requests: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)
    provider_batches: int = 0
    linked_batches: int = 0
    unlinked_batches: list[dict[str, Any]] = field(default_factory=list)
    duplicate_submissions: int = 0
    max_sends_per_request: int = 0
    tokens_checked: int = 0
    files_total: int = 0
    files_left: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no invariant was violated."""
        return not self.violations

    def lines(self) -> list[str]:
        """A human-readable report, one fact a line."""
        out = [
            f"requests by state: {dict(sorted(self.requests.items()))}",
            f"local batches by state: {dict(sorted(self.batches.items()))}",
            f"provider batches: {self.provider_batches} ({self.linked_batches} linked to a local "
            f"batch, {len(self.unlinked_batches)} unlinked: "
            f"{dict(Counter(b['status'] for b in self.unlinked_batches))})",
            f"duplicate submissions (request lines in unlinked batches): "
            f"{self.duplicate_submissions}; most sends of one request: "
            f"{self.max_sends_per_request}",
            f"token usage checked against the emulator for {self.tokens_checked} requests",
            f"provider files: {self.files_total} created, {len(self.files_left)} not deleted",
            f"faults injected by the emulator: {dict(sorted(self.faults.items()))}",
        ]
        out += [f"VIOLATION: {v}" for v in self.violations] or ["all invariants hold"]
        return out


def expected_usage(processing_type: str, messages: list[tuple[str, str]], model: str) -> int:
    """Total tokens the emulator reports for this request's line (prompt + completion),
    computed by the emulator's own generator: the built-in task's instructions as the system
    message, the transcript as the user message, its schema as a strict structured output."""
    from plugins.common.session_tasks import session_tasks
    from plugins.common.text import transcript
    from plugins.emulator import generation, params
    from plugins.emulator import model as emulator_model

    task = next(task for task in session_tasks() if task.name == processing_type)
    body_messages = [
        {"role": "system", "content": task.instructions},
        {"role": "user", "content": transcript(messages)},
    ]
    body = {
        "model": model,
        "messages": body_messages,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": task.name, "schema": dict(task.schema), "strict": True},
        },
    }
    turn = generation.generate(
        body,
        "/v1/chat/completions",
        emulator_model.transcript_of(body_messages),
        emulator_model.approximate_prompt_tokens(body_messages),
        params.chat_format(body),
        invalid=False,
        refuse=False,
    )
    return turn.input_tokens + turn.output_tokens


def audit(
    url: str,
    ledger: dict[str, Any],
    *,
    ambiguous: bool,
    retention: str = "delete",
) -> Audit:
    """Check every invariant of a finished run; ``ambiguous``: lost creates or timeouts injected."""
    result = Audit()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            _check_local(conn, result)
            linked = _check_ledger(conn, ledger, result, ambiguous=ambiguous)
            _check_tokens(conn, result)
        _check_files(ledger, linked, result, ambiguous=ambiguous, retention=retention)
    finally:
        engine.dispose()
    return result


def _check_local(conn: sa.Connection, result: Audit) -> None:
    """Every request terminal, every batch settled, nothing in flight, sessions written."""
    result.requests = dict(
        conn.execute(
            sa.text("SELECT status, count(*) FROM ai_processing_requests GROUP BY status")
        ).all()
    )
    result.batches = dict(
        conn.execute(
            sa.text("SELECT status, count(*) FROM ai_batch_requests GROUP BY status")
        ).all()
    )
    open_requests = sum(n for s, n in result.requests.items() if s not in TERMINAL)
    if open_requests:
        result.violations.append(f"{open_requests} requests are not in a terminal state")
    open_batches = sum(n for s, n in result.batches.items() if s not in SETTLED_BATCHES)
    if open_batches:
        result.violations.append(f"{open_batches} local batches are not settled")
    unwritten = conn.execute(
        sa.text(
            "SELECT count(*) FROM ai_processing_requests r JOIN chat_sessions s "
            "ON s.id = r.session_id WHERE r.status = :c AND s.analyzed_at IS NULL"
        ),
        {"c": RequestStatus.PROCESSING_COMPLETE},
    ).scalar_one()
    if unwritten:
        result.violations.append(f"{unwritten} completed requests have no result on the session")


def _check_ledger(
    conn: sa.Connection, ledger: dict[str, Any], result: Audit, *, ambiguous: bool
) -> set[str]:
    """Every provider batch linked to one local batch, or (ambiguous runs) cancelled."""
    local: dict[str, str] = dict(
        conn.execute(
            sa.text(
                "SELECT provider_batch_id, status FROM ai_batch_requests "
                "WHERE provider_batch_id IS NOT NULL"
            )
        ).all()
    )
    request_ids = {row[0] for row in conn.execute(sa.text("SELECT id FROM ai_processing_requests"))}
    batches = ledger.get("batches", [])
    result.provider_batches = len(batches)
    result.faults = dict(Counter(f["fault"] for f in ledger.get("faults", [])))
    sends: Counter[str] = Counter()
    linked: set[str] = set()
    for batch in batches:
        sends.update(batch["custom_ids"])
        if batch["id"] in local:
            linked.add(batch["id"])
            continue
        result.unlinked_batches.append(batch)
        result.duplicate_submissions += len(batch["custom_ids"])
    result.linked_batches = len(linked)
    result.max_sends_per_request = max(sends.values(), default=0)
    unknown = set(sends) - request_ids
    if unknown:
        result.violations.append(f"{len(unknown)} custom_ids at the provider match no request")
    if not ambiguous and result.unlinked_batches:
        result.violations.append(
            f"{len(result.unlinked_batches)} provider batches without a local record in a run "
            "without ambiguous faults"
        )
    for batch in result.unlinked_batches:
        if batch["status"] not in ("cancelled", "cancelling", "failed"):
            result.violations.append(
                f"provider batch {batch['id']} ({batch['status']}) has no local record and was "
                "not cancelled"
            )
    return linked


def _check_tokens(conn: sa.Connection, result: Audit) -> None:
    """Completed requests carry one line's usage; failed ones none or one: never two."""
    rows = conn.execute(
        sa.text(
            "SELECT r.id, r.status, r.model, r.processing_type, r.total_tokens, m.role, m.content "
            "FROM ai_processing_requests r JOIN messages m ON m.session_id = r.session_id "
            "ORDER BY r.id, m.position"
        )
    )
    current: tuple[Any, ...] | None = None
    messages: list[tuple[str, str]] = []
    problems: list[str] = []

    def check() -> None:
        if current is None:
            return
        request_id, status, model, ptype, tokens = current
        expected = expected_usage(ptype, messages, model)
        result.tokens_checked += 1
        if (status == RequestStatus.PROCESSING_COMPLETE and tokens != expected) or (
            status == RequestStatus.PROCESSING_FAILED and tokens not in (0, expected)
        ):
            problems.append(f"{request_id} {status}: {tokens} tokens, one line is {expected}")

    for request_id, status, model, ptype, tokens, role, content in rows:
        if current is None or current[0] != request_id:
            check()
            current, messages = (request_id, status, model, ptype, tokens), []
        messages.append((role, content))
    check()
    if problems:
        result.violations.append(
            f"{len(problems)} requests carry a usage other than exactly one result line's "
            f"(applied twice or never): {problems[:5]}"
        )


def _check_files(
    ledger: dict[str, Any], linked: set[str], result: Audit, *, ambiguous: bool, retention: str
) -> None:
    """With retention ``delete`` every provider file is deleted, except those of cancelled
    orphans in ambiguous runs (nobody ever owned them)."""
    files = ledger.get("files", [])
    result.files_total = len(files)
    result.files_left = [f for f in files if not f.get("deleted")]
    if retention != "delete":
        return
    orphan_files: set[str] = set()
    for batch in ledger.get("batches", []):
        if batch["id"] not in linked:
            orphan_files.update(
                fid
                for fid in (batch["input_file_id"], batch["output_file_id"], batch["error_file_id"])
                if fid
            )
    kept = [f for f in result.files_left if not (ambiguous and f["id"] in orphan_files)]
    if kept:
        result.violations.append(
            f"{len(kept)} provider files left with file_retention=delete: "
            f"{[(f['id'], f.get('filename'), f.get('purpose')) for f in kept[:5]]}"
        )
