"""The provider's checks for ``run`` and ``doctor`` and its banner line: the key is set, the
endpoint answers a list of one batch with it, and it knows the configured model."""

from __future__ import annotations

import dataclasses
from typing import Any

from kernel.types import HealthCheck
from plugins.anthropic_provider.client import build_client
from plugins.anthropic_provider.config import AnthropicConfig
from plugins.anthropic_provider.errors import error_type
from plugins.common.providerchecks import Endpoint, Kind, key_check, remote_checks

KEY_FIX = "set ANTHROPIC_API_KEY (or [anthropic] api_key, or BATCHKERNEL_ANTHROPIC__API_KEY)"
URL_FIX = "check anthropic.base_url and the network"
CHECK_TIMEOUT_SECONDS = 10.0


def setup_facts(settings: Any) -> dict[str, str]:
    """The banner's provider line: endpoint, model and whether a key is set (never the key)."""
    config = AnthropicConfig.from_settings(settings)
    key = "key set" if config.api_key else "no key"
    return {"provider": f"anthropic at {config.base_url} (model {config.model}, {key})"}


def checks(settings: Any, *, remote: bool) -> list[HealthCheck]:
    """Key present; with ``remote``, one list call and one model lookup, without retries."""
    config = AnthropicConfig.from_settings(settings)
    endpoint = Endpoint("anthropic", config.base_url, KEY_FIX, URL_FIX)
    found = [key_check(endpoint, config.api_key)]
    if not config.api_key or not remote:
        return found
    quick = dataclasses.replace(
        config, timeout_seconds=min(config.timeout_seconds, CHECK_TIMEOUT_SECONDS), max_retries=0
    )
    client = build_client(quick)
    try:
        found += remote_checks(
            endpoint,
            lambda: client.messages.batches.list(limit=1),
            lambda: client.models.retrieve(config.model),
            config.model,
            explain,
        )
    finally:
        client.close()
    return found


def explain(exc: Exception) -> tuple[Kind, str]:
    """An SDK failure as the checks' kind and message."""
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        return "connection", f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, anthropic.APIStatusError):
        return "other", f"{type(exc).__name__}: {exc}"
    status, kind, message = error_type(exc)
    text = f"HTTP {status} {kind or 'error'}: {message}"
    if status in (401, 403):
        return "auth", text
    return ("not_found" if status == 404 else "other"), text
