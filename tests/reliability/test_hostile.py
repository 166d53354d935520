"""Hostile input not covered elsewhere: a provider answering statuses and fields it never
documented, and Unicode and control characters carried end to end (import, batch file,
provider, result, session)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from kernel.scheduler import Scheduler
from plugins.chaos.audit import audit
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIBatchRequest, ChatSession, Message
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from plugins.emulator import store as emulator_store
from tests.reliability.support import load

HOSTILE_TEXTS = [
    "Olá, preciso de férias 🏖️ — quantos dias me restam?",
    "請問我還有幾天年假\uff1f 👩‍👩‍👧‍👦 family leave",
    "مرحبا، أحتاج إلى إجازة \u202eRTL override\u202c и ещё кириллица",
    "line\u2028separator\u2029paragraph and\r\nCRLF\tand a tab",
    "control \x01\x07\x1b[31m escape \x7f and \ufeff BOM and z\u0301algo\u0336",
    'quotes " \\ backslash {"json": "inside"} </script>',
    "NUL\x00byte stripped",
]


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_unknown_status_and_extra_fields_are_kept_with_a_note_and_nothing_is_lost(
    make_kernel: Any,
    db_url: str,
    tmp_path: Path,
    processor: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load(db_url, tmp_path, sessions=12, companies=2)
    original_api = emulator_store.Store._api
    odd = {"answers": 0}

    def odd_api(self: Any, record: Any, now: float) -> dict[str, Any]:
        body = original_api(self, record, now)
        body["brand_new_field"] = {"nested": [1, 2, 3]}
        body["request_counts"]["paused"] = 7
        if odd["answers"] < 4 and body["status"] != "validating":
            odd["answers"] += 1
            body["status"] = "paused"
            body["output_file_id"] = "file-never-existed"
        return body

    monkeypatch.setattr(emulator_store.Store, "_api", odd_api)
    with EmulatorServer(EmulatorConfig(seed=5)).start() as server:
        kernel = make_kernel(
            db_url,
            plugins__processor=processor,
            plugins__cache="none",
            openai__base_url=server.base_url,
            batch__min_batch_size=1,
        )
        scheduler = Scheduler(kernel, record=False)
        scheduler.run_task("create")
        scheduler.run_task("poll")
        with kernel.db.transaction() as session:
            rows = session.scalars(select(AIBatchRequest)).all()
            assert rows and all(r.status == "VALIDATING" for r in rows), [r.status for r in rows]
            assert all("unknown provider status 'paused'" in (r.note or "") for r in rows)
            assert all(r.output_file_id is None for r in rows)
        outcome = run_until_idle(scheduler, timeout=240)
        assert outcome.idle, outcome.reason
        report = audit(db_url, server.ledger(), ambiguous=False)
    assert report.ok, "\n".join(report.lines())
    assert report.requests == {"PROCESSING_COMPLETE": 12}
    assert odd["answers"] == 4


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_unicode_and_control_characters_survive_end_to_end(
    make_kernel: Any, db_url: str, tmp_path: Path, processor: str
) -> None:
    source = tmp_path / "hostile.jsonl"
    with source.open("wb") as handle:
        for index, text in enumerate(HOSTILE_TEXTS):
            record = {
                "company": "ünïcødé-co",
                "company_name": "Ünïcødé 公司 🏢",
                "session_id": f"s-{index}-✓",
                "start_time": "2026-11-01T09:00:00Z",
                "messages": [
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": f"echo: {text}"},
                ],
            }
            handle.write(orjson.dumps(record) + b"\n")
    with EmulatorServer(EmulatorConfig(seed=6)).start() as server:
        kernel = make_kernel(
            db_url,
            plugins__processor=processor,
            plugins__cache="none",
            openai__base_url=server.base_url,
            batch__min_batch_size=1,
        )
        report = import_file(kernel, source)
        assert report.requests_created == len(HOSTILE_TEXTS), report.problems
        outcome = run_until_idle(Scheduler(kernel, record=False), timeout=240)
        assert outcome.idle, outcome.reason
        checked = audit(db_url, server.ledger(), ambiguous=False)
        with kernel.db.transaction() as session:
            stored = sorted(
                session.scalars(select(Message.content).where(Message.role == "user")).all()
            )
            sessions = session.scalars(select(ChatSession)).all()
    assert checked.ok, "\n".join(checked.lines())
    assert checked.requests == {"PROCESSING_COMPLETE": len(HOSTILE_TEXTS)}
    assert stored == sorted(text.replace("\x00", "") for text in HOSTILE_TEXTS)
    assert all(s.analyzed_at is not None and s.summary for s in sessions)
