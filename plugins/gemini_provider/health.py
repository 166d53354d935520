"""The provider's checks for ``run`` and ``doctor`` and its banner line: the key is set, the
endpoint answers a list of one batch with it, and it knows the configured model."""

from __future__ import annotations

import dataclasses
from typing import Any

from plugins.common.hookspecs import HealthCheck
from plugins.common.providerchecks import Endpoint, explained_by, provider_checks, setup_line

from .calls import classify
from .config import GeminiConfig, build_client

KEY_FIX = "set GEMINI_API_KEY (or [gemini] api_key, or BATCHKERNEL_GEMINI__API_KEY)"
URL_FIX = "check gemini.base_url and the network"
CHECK_TIMEOUT_SECONDS = 10.0


def setup_facts(settings: Any) -> dict[str, str]:
    """The banner's provider line: endpoint, model and whether a key is set."""
    config = GeminiConfig.from_settings(settings)
    return setup_line("gemini", config.base_url, config.api_key, f"model {config.model}")


def checks(settings: Any, *, remote: bool) -> list[HealthCheck]:
    """Key present; with ``remote``, one list call and one model lookup, without retries."""
    config = GeminiConfig.from_settings(settings)
    quick = dataclasses.replace(
        config, timeout_seconds=min(config.timeout_seconds, CHECK_TIMEOUT_SECONDS)
    )
    return provider_checks(
        Endpoint("gemini", config.base_url, KEY_FIX, URL_FIX),
        config.api_key,
        remote=remote,
        client=lambda: build_client(quick),
        list_call=lambda client: next(iter(client.batches.list(config={"page_size": 1})), None),
        model_call=lambda client: client.models.get(model=config.model),
        model=config.model,
        explain=explained_by(classify),
    )
