"""Fixtures: the Gemini emulator on loopback and a kernel whose ``gemini`` provider points at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kernel.types import BatchPlan
from plugins.common.exchange import LLMRequest
from plugins.emulator_gemini import GeminiEmulatorConfig, GeminiEmulatorServer

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]},
        "summary": {"type": "string"},
        "questions": {"type": "array", "items": {"type": "string"}},
        "note": {"type": ["string", "null"]},
    },
    "required": ["sentiment", "summary", "questions", "note"],
}
MODEL = "gemini-2.5-flash"


@dataclass
class GeminiHarness:
    """Server, kernel and provider, plus plans written with the provider's own encoder."""

    server: GeminiEmulatorServer
    kernel: Any
    provider: Any
    workdir: Path
    plans: int = field(default=0)

    def plan(self, lines: int = 3) -> BatchPlan:
        """Encode ``lines`` neutral requests into an input file and return its plan."""
        self.plans += 1
        batch_id = f"b{self.plans}"
        encoder = self.provider.request_encoder(self.kernel, "gemini", MODEL)
        path = self.workdir / f"{batch_id}.jsonl"
        with path.open("wb") as out:
            for index in range(lines):
                out.write(encoder.encode(request(f"{batch_id}-r{index}", index)))
        return BatchPlan(
            batch_id=batch_id,
            company_id="c1",
            model=MODEL,
            processing_type="probe",
            submission_key=f"bk_{batch_id}_0123456789abcdef",
            input_path=path,
            request_count=lines,
            input_bytes=path.stat().st_size,
            estimated_input_tokens=10 * lines,
            provider="gemini",
        )

    def ledger_batches(self, key: str | None = None) -> list[dict[str, Any]]:
        """Batches the emulator made, optionally only those named ``key``."""
        batches = self.server.ledger()["batches"]
        return batches if key is None else [b for b in batches if b["display_name"] == key]


def request(custom_id: str, index: int) -> LLMRequest:
    """One neutral request."""
    return LLMRequest(
        custom_id=custom_id,
        task="probe",
        model=MODEL,
        instructions="Analyse the chat and answer in JSON.",
        messages=(("user", f"I am angry about my salary, question {index}?"),),
        schema=SCHEMA,
        schema_name="probe",
        max_output_tokens=500,
        temperature=0.2,
    )


@pytest.fixture
def gemini_server() -> Iterator[GeminiEmulatorServer]:
    """A fault-free Gemini emulator with an instant lifecycle."""
    with GeminiEmulatorServer(GeminiEmulatorConfig(seed=1)) as server:
        yield server


@pytest.fixture
def gh(gemini_server: GeminiEmulatorServer, tmp_path: Path) -> Iterator[GeminiHarness]:
    """A kernel with the gemini provider on the emulator (fast backoff)."""
    from kernel.manager import Kernel

    workdir = tmp_path / "files"
    workdir.mkdir()
    kernel = Kernel.create(
        overrides={
            "database.url": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "batch.workdir": str(workdir),
            "plugins.autoload": False,
            "plugins.provider": "gemini",
            "gemini.api_key": "test-key",
            "gemini.base_url": gemini_server.base_url,
            "gemini.backoff_base_seconds": 0.01,
            "gemini.backoff_max_seconds": 0.5,
        }
    )
    provider = kernel.pm.get_plugin("gemini")
    try:
        yield GeminiHarness(gemini_server, kernel, provider, workdir)
    finally:
        kernel.close()
