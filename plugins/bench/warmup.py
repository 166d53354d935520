"""One-time loads done before memory is traced, so a stage's traced peak is its own work and not
whichever process-wide cache it happened to fill first (ORM mappers, the tokenizer's vocabulary)."""

from __future__ import annotations

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.exchange import LLMRequest


def warm_up(kernel: KernelAPI) -> None:
    """Configure the ORM mappers and load the configured provider's encoder for the model."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    model = str(kernel.settings.model.name)
    encoder = calls.request_encoder(kernel, kernel.providers()[0], model)
    sample = LLMRequest(
        custom_id="warm-up",
        task="warm-up",
        model=model,
        instructions="warm up",
        messages=(("user", "warm up"),),
        schema=None,
        schema_name="warm_up",
        max_output_tokens=16,
        temperature=None,
    )
    encoder.count_tokens(sample)
    encoder.encode(sample)
