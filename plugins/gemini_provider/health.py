"""The provider's checks for ``run`` and ``doctor`` and its banner line: the key is set, the
endpoint answers a list of one batch with it, and it knows the configured model."""

from __future__ import annotations

import dataclasses
from typing import Any

from kernel.types import HealthCheck
from plugins.common.providerchecks import Endpoint, Kind, key_check, remote_checks

from .calls import classify
from .config import GeminiConfig, build_client

KEY_FIX = "set GEMINI_API_KEY (or [gemini] api_key, or BATCHKERNEL_GEMINI__API_KEY)"
URL_FIX = "check gemini.base_url and the network"
CHECK_TIMEOUT_SECONDS = 10.0


def setup_facts(settings: Any) -> dict[str, str]:
    """The banner's provider line: endpoint, model and whether a key is set (never the key)."""
    config = GeminiConfig.from_settings(settings)
    key = "key set" if config.api_key else "no key"
    return {"provider": f"gemini at {config.base_url} (model {config.model}, {key})"}


def checks(settings: Any, *, remote: bool) -> list[HealthCheck]:
    """Key present; with ``remote``, one list call and one model lookup, without retries."""
    config = GeminiConfig.from_settings(settings)
    endpoint = Endpoint("gemini", config.base_url, KEY_FIX, URL_FIX)
    found = [key_check(endpoint, config.api_key)]
    if not config.api_key or not remote:
        return found
    quick = dataclasses.replace(
        config, timeout_seconds=min(config.timeout_seconds, CHECK_TIMEOUT_SECONDS)
    )
    client = build_client(quick)
    try:
        found += remote_checks(
            endpoint,
            lambda: next(iter(client.batches.list(config={"page_size": 1})), None),
            lambda: client.models.get(model=config.model),
            config.model,
            explain,
        )
    finally:
        client.close()
    return found


def explain(exc: Exception) -> tuple[Kind, str]:
    """An SDK failure as the checks' kind and message."""
    failure = classify(exc)
    if failure is None:
        return "other", f"{type(exc).__name__}: {exc}"
    if failure.kind == "connection":
        return "connection", failure.message
    if failure.kind == "unauthorized":
        return "auth", failure.message
    return ("not_found" if failure.kind == "not_found" else "other"), failure.message
