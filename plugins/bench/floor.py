"""The raw SQL floor: the same claim, batch files and result application as the processors, with
hand-written set-based SQL over the bare driver and no framework, to show how close the optimized
path gets to what the database itself allows.

Claim: one locked read of every pending request with its sizes, batches cut in memory (the same
request-count limit), one bulk insert of the batches, one bulk load of (request, batch) pairs and
one ``UPDATE ... FROM`` (each loaded table analyzed, so the planner knows its size). Build: one
streamed query over the messages writing the same records through the provider's encoder. Apply:
read each result through the provider's decoder, validate it against its task (``AnswerJudge``),
price it, bulk load the outcomes, then one ``UPDATE ... FROM`` for sessions, one for requests and one for batches.
Only success lines are applied in full: the floor runs against a fault-free emulator.
"""

from __future__ import annotations

import random
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kernel.manager import Kernel
from kernel.settings import load_settings
from kernel.types import BatchStatus, LocalBatch, ResultFiles
from plugins.bench import rss
from plugins.bench.rawdb import RawDB
from plugins.bench.warmup import warm_up
from plugins.common import calls
from plugins.common.schema.statuses import RequestStatus

PENDING = RequestStatus.PENDING_BATCHING.value
IN_PROGRESS = RequestStatus.BATCHING_IN_PROGRESS.value
COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
FLOOR_STAGES = ("claim", "build", "apply")
RESULT_COLUMNS = (
    "request_id",
    "batch_id",
    "kind",
    "sentiment",
    "category",
    "summary",
    "language",
    "escalated",
    "forwarded_hr",
    "questions",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "prompt_cost",
    "completion_cost",
    "error",
    "provider_request_id",
)
RESULT_TYPES = (
    "VARCHAR(36)",
    "VARCHAR(36)",
    "VARCHAR(8)",
    "VARCHAR(16)",
    "VARCHAR(32)",
    "TEXT",
    "VARCHAR(10)",
    "BOOLEAN",
    "BOOLEAN",
    "TEXT",
    "INTEGER",
    "INTEGER",
    "INTEGER",
    "FLOAT",
    "FLOAT",
    "TEXT",
    "VARCHAR(255)",
)


class Floor:
    """One floor run on one database copy: stages timed, statements counted."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        *,
        trace_memory: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.db = RawDB(url)
        self.workdir = workdir / "floor"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings({"plugins.autoload": False, **(overrides or {})})
        self.kernel = Kernel.create(self.settings)
        self.provider = self.kernel.providers()[0]
        self.trace_memory = trace_memory
        self.stages: dict[str, dict[str, float]] = {}
        self.batches: list[list[Any]] = []
        """[batch id, company, model, processing type, request ids, input bytes, tokens]"""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Record the enclosed block's seconds, statements and traced peak as stage ``name``."""
        rss.reset_peak()
        resident = rss.current()
        base = 0
        if self.trace_memory:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        queries, start, cpu = self.db.queries, time.perf_counter(), time.process_time()
        yield
        figures = {
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
            "queries": self.db.queries - queries,
            "calls": 1,
            "traced_peak": 0,
            "rss_peak": rss.peak(),
            "rss_growth": rss.peak() - resident,
        }
        if self.trace_memory:
            figures["traced_peak"] = tracemalloc.get_traced_memory()[1] - base
        self.stages[name] = figures

    def claim(self) -> int:
        """Lock the pending requests, cut them into batches, insert the batches, claim members."""
        from plugins.common.lines import BatchLimits, neutral_request
        from plugins.common.tokens import approximate_tokens

        db = self.db
        kernel = self.kernel
        limits = BatchLimits.for_provider(kernel, self.provider)
        now = datetime.now(UTC)
        lock = " FOR UPDATE OF r SKIP LOCKED" if db.is_postgres else ""
        rows = db.execute(
            "SELECT r.id, r.company_id, r.model, r.processing_type, s.transcript_chars, "
            "s.transcript_bytes FROM ai_processing_requests r "
            "JOIN chat_sessions s ON s.id = r.session_id "
            "WHERE r.status = ? AND r.batch_id IS NULL AND r.available_at <= ? "
            "ORDER BY r.company_id, r.model, r.processing_type, r.requested_at, r.id" + lock,
            (PENDING, db.value(now)),
        ).fetchall()
        sizes: dict[tuple[str, str], tuple[int, int]] = {}
        key: tuple[str, str, str] | None = None
        current: list[Any] = []
        for rid, company, model, ptype, chars, nbytes in rows:
            if (company, model, ptype) != key or len(current[4]) >= limits.max_requests:
                key = (company, model, ptype)
                current = [str(uuid.uuid4()), company, model, ptype, [], 0, 0]
                self.batches.append(current)
            if (model, ptype) not in sizes:
                encoder = calls.request_encoder(kernel, self.provider, model)
                empty = neutral_request(
                    "0" * 36, calls.task(kernel, ptype), model, [], self.settings
                )
                sizes[(model, ptype)] = (len(encoder.encode(empty)), encoder.count_tokens(empty))
            overhead, prompt = sizes[(model, ptype)]
            current[4].append(rid)
            current[5] += overhead + nbytes
            current[6] += prompt + approximate_tokens(chars, 0)
        stamp = db.value(now)
        db.load(
            "ai_batch_requests",
            (
                "id",
                "company_id",
                "model",
                "processing_type",
                "status",
                "submission_key",
                "request_count",
                "input_bytes",
                "estimated_input_tokens",
                "created_at",
                "counts_total",
                "counts_completed",
                "counts_failed",
            ),
            [
                (bid, comp, mod, pt, "PLANNED", uuid.uuid4().hex, len(ids), nb, tok, stamp, 0, 0, 0)
                for bid, comp, mod, pt, ids, nb, tok in self.batches
            ],
        )
        db.execute("CREATE TEMP TABLE floor_claim (request_id VARCHAR(36), batch_id VARCHAR(36))")
        db.load(
            "floor_claim",
            ("request_id", "batch_id"),
            [(rid, batch[0]) for batch in self.batches for rid in batch[4]],
        )
        db.execute("ANALYZE floor_claim")
        claimed = db.execute(
            "UPDATE ai_processing_requests SET status = ?, batch_id = c.batch_id "
            "FROM floor_claim c WHERE ai_processing_requests.id = c.request_id "
            "AND ai_processing_requests.status = ? AND ai_processing_requests.batch_id IS NULL",
            (IN_PROGRESS, PENDING),
        ).rowcount
        db.commit()
        return int(claimed)

    def build(self) -> dict[str, Path]:
        """Stream the claimed requests' messages in batch order into one JSONL file a batch."""
        from plugins.common.lines import neutral_request

        kernel = self.kernel
        # Each kind's task and encoder once, not a hook call for every request.
        encoders = {
            (model, ptype): (
                calls.task(kernel, ptype),
                calls.request_encoder(kernel, self.provider, model),
            )
            for model, ptype in {(batch[2], batch[3]) for batch in self.batches}
        }
        kinds = {batch[0]: (batch[2], *encoders[(batch[2], batch[3])]) for batch in self.batches}
        paths: dict[str, Path] = {}
        handle: Any = None
        batch: str | None = None
        request: str | None = None
        messages: list[tuple[str, str]] = []

        def flush() -> None:
            if request is not None:
                model, task, encoder = kinds[batch]
                neutral = neutral_request(request, task, model, messages, self.settings)
                handle.write(encoder.encode(neutral))

        rows = self.db.stream(
            "SELECT r.batch_id, r.id, m.role, m.content FROM ai_processing_requests r "
            "JOIN floor_claim c ON c.request_id = r.id "
            "JOIN messages m ON m.session_id = r.session_id WHERE r.status = ? "
            "ORDER BY r.batch_id, r.requested_at, r.id, m.position",
            (IN_PROGRESS,),
        )
        try:
            for batch_id, request_id, role, content in rows:
                if request_id != request:
                    flush()
                    messages, request = [], request_id
                if batch_id != batch:
                    if handle is not None:
                        handle.close()
                    batch = batch_id
                    paths[batch_id] = self.workdir / f"{batch_id}.input.jsonl"
                    handle = paths[batch_id].open("wb")
                messages.append((role, content))
            flush()
        finally:
            if handle is not None:
                handle.close()
        self.db.commit()
        return paths

    def apply(self, outputs: dict[str, Path]) -> int:
        """Validate and price every result line, bulk load them, then three set-based updates."""
        from plugins.common.answers import AnswerJudge
        from plugins.common.pricing import PriceBook

        db = self.db
        prices = PriceBook.from_settings(self.settings)
        judge = AnswerJudge(calls.tasks(self.kernel))
        kinds = {batch[0]: (batch[1], batch[2], batch[3]) for batch in self.batches}
        rows = []
        for batch_id, path in outputs.items():
            company, model, ptype = kinds[batch_id]
            price = prices.for_model(model)
            batch = LocalBatch(
                batch_id, company, BatchStatus.COMPLETED, "", None, provider=self.provider
            )
            for result in calls.read_results(self.kernel, batch, ResultFiles(path, None)):
                if not result.custom_id:
                    continue
                outcome = judge.judge(result, ptype)
                usage = outcome.usage
                cost = price.cost(usage.input, usage.output) if price else (0.0, 0.0)
                fields = outcome.fields
                questions = fields.get("questions")
                rows.append(
                    (
                        outcome.request_id,
                        batch_id,
                        outcome.kind,
                        fields.get("sentiment"),
                        fields.get("category"),
                        fields.get("summary"),
                        fields.get("language"),
                        fields.get("escalated"),
                        fields.get("forwarded_hr"),
                        orjson.dumps(questions).decode() if questions is not None else None,
                        usage.input,
                        usage.output,
                        usage.cached,
                        *cost,
                        outcome.error,
                        outcome.provider_request_id,
                    )
                )
        columns = ", ".join(f"{n} {t}" for n, t in zip(RESULT_COLUMNS, RESULT_TYPES, strict=True))
        db.execute(f"CREATE TEMP TABLE floor_results ({columns})")
        db.load("floor_results", RESULT_COLUMNS, rows)
        db.execute("ANALYZE floor_results")
        now = db.value(datetime.now(UTC))
        questions = "f.questions::json" if db.is_postgres else "f.questions"
        db.execute(
            "UPDATE chat_sessions SET sentiment = f.sentiment, category = f.category, "
            "summary = f.summary, language = f.language, escalated = f.escalated, "
            f"forwarded_hr = f.forwarded_hr, questions = {questions}, analyzed_at = ? "
            "FROM floor_results f JOIN ai_processing_requests r ON r.id = f.request_id "
            "WHERE chat_sessions.id = r.session_id AND r.batch_id = f.batch_id "
            "AND r.status = ? AND f.kind = 'success'",
            (now, IN_PROGRESS),
        )
        t = "ai_processing_requests"
        applied = db.execute(
            f"UPDATE {t} SET status = CASE WHEN f.kind = 'success' THEN ? ELSE ? END, "
            f"completed_at = ?, error = f.error, provider_request_id = f.provider_request_id, "
            f"prompt_tokens = {t}.prompt_tokens + f.prompt_tokens, "
            f"completion_tokens = {t}.completion_tokens + f.completion_tokens, "
            f"total_tokens = {t}.total_tokens + f.prompt_tokens + f.completion_tokens, "
            f"cached_tokens = {t}.cached_tokens + f.cached_tokens, "
            f"prompt_cost_usd = {t}.prompt_cost_usd + f.prompt_cost, "
            f"completion_cost_usd = {t}.completion_cost_usd + f.completion_cost, "
            f"total_cost_usd = {t}.total_cost_usd + f.prompt_cost + f.completion_cost "
            f"FROM floor_results f WHERE {t}.id = f.request_id AND {t}.batch_id = f.batch_id "
            f"AND {t}.status = ?",
            (COMPLETE, FAILED, now, IN_PROGRESS),
        ).rowcount
        db.execute(
            "UPDATE ai_batch_requests SET status = 'APPLIED', applied_at = ? "
            "WHERE id IN (SELECT DISTINCT batch_id FROM floor_claim)",
            (now,),
        )
        db.commit()
        return int(applied)


def provider_results(inputs: dict[str, Path], directory: Path) -> dict[str, Path]:
    """What the emulator would answer for each input file (the provider's work, not timed)."""
    from plugins.emulator import endpoints

    rng = random.Random(0)
    created = int(time.time())
    outputs = {}
    for batch_id, path in inputs.items():
        target = directory / f"{batch_id}.output.jsonl"
        with path.open("rb") as source, target.open("wb") as out:
            for raw in source:
                request = orjson.loads(raw)
                result = endpoints.run(request["url"], request["body"], rng, created)
                line = {
                    "id": f"batch_req_{rng.getrandbits(64):016x}",
                    "custom_id": request["custom_id"],
                    "response": {
                        "status_code": result.status,
                        "request_id": f"req_{rng.getrandbits(64):016x}",
                        "body": result.body,
                    },
                    "error": None,
                }
                out.write(orjson.dumps(line) + b"\n")
        outputs[batch_id] = target
    return outputs


def run_floor(
    url: str,
    workdir: Path,
    *,
    trace_memory: bool = False,
    first_create: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Claim, build and apply on one copy (``first_create``: claim and build only); stage figures
    plus how many requests each reached."""
    floor = Floor(url, workdir, trace_memory=trace_memory, overrides=overrides)
    if trace_memory:
        warm_up(floor.kernel)
        tracemalloc.start()
    try:
        with floor.stage("claim"):
            claimed = floor.claim()
        with floor.stage("build"):
            inputs = floor.build()
        outputs: dict[str, Path] = {}
        applied = 0
        if not first_create:
            outputs = provider_results(inputs, floor.workdir)
            with floor.stage("apply"):
                applied = floor.apply(outputs)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        floor.db.close()
    for path in (*inputs.values(), *outputs.values()):
        path.unlink(missing_ok=True)
    return {"stages": floor.stages, "requests": claimed, "completed": applied}
