"""Plans for the anthropic provider's tests: neutral requests encoded by the plugin itself."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from kernel.types import BatchPlan
from plugins.anthropic_provider import AnthropicProvider
from plugins.common.exchange import LLMRequest

SCHEMA = {
    "type": "object",
    "properties": {"sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]}},
    "required": ["sentiment"],
    "additionalProperties": False,
}


def sentiment_request(index: int) -> LLMRequest:
    """A neutral request with a schema."""
    return LLMRequest(
        custom_id=str(uuid.uuid4()),
        task="sentiment",
        model="claude-haiku-4-5",
        instructions="Classify the sentiment.",
        messages=(("user", f"user: I am angry, my salary is late ({index})"),),
        schema=SCHEMA,
        schema_name="sentiment",
        max_output_tokens=256,
        temperature=0.1,
    )


def plan_of(
    kernel: Any, provider: AnthropicProvider, tmp_path: Path, count: int, key: str | None = None
) -> BatchPlan:
    """A plan whose input file holds ``count`` encoded requests, under submission key ``key``
    (a fresh one by default)."""
    encoder = provider.request_encoder(kernel, "anthropic", "claude-haiku-4-5")
    assert encoder is not None
    path = tmp_path / f"{uuid.uuid4()}.jsonl"
    data = b"".join(encoder.encode(sentiment_request(i)) for i in range(count))
    path.write_bytes(data)
    return BatchPlan(
        batch_id=str(uuid.uuid4()),
        company_id="c1",
        model="claude-haiku-4-5",
        processing_type="sentiment",
        submission_key=key or "bk_" + uuid.uuid4().hex,
        input_path=path,
        request_count=count,
        input_bytes=len(data),
        estimated_input_tokens=100,
        provider="anthropic",
    )
