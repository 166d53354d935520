"""The provider's checks for ``run`` and ``doctor`` and its banner line: the key is set, the
endpoint answers a list of one batch with it, and it knows the configured model."""

from __future__ import annotations

import dataclasses
from typing import Any

from plugins.anthropic_provider.client import build_client
from plugins.anthropic_provider.config import AnthropicConfig
from plugins.anthropic_provider.errors import error_type, is_quota
from plugins.common.hookspecs import HealthCheck
from plugins.common.providerchecks import Endpoint, Kind, kind_of, provider_checks, setup_line

KEY_FIX = "set ANTHROPIC_API_KEY (or [anthropic] api_key, or BATCHKERNEL_ANTHROPIC__API_KEY)"
URL_FIX = "check anthropic.base_url and the network"
CHECK_TIMEOUT_SECONDS = 10.0


def setup_facts(settings: Any) -> dict[str, str]:
    """The banner's provider line: endpoint, model and whether a key is set."""
    config = AnthropicConfig.from_settings(settings)
    return setup_line("anthropic", config.base_url, config.api_key, f"model {config.model}")


def checks(settings: Any, *, remote: bool) -> list[HealthCheck]:
    """Key present; with ``remote``, one list call and one model lookup, without retries."""
    config = AnthropicConfig.from_settings(settings)
    quick = dataclasses.replace(
        config, timeout_seconds=min(config.timeout_seconds, CHECK_TIMEOUT_SECONDS), max_retries=0
    )
    return provider_checks(
        Endpoint("anthropic", config.base_url, KEY_FIX, URL_FIX),
        config.api_key,
        remote=remote,
        client=lambda: build_client(quick),
        list_call=lambda client: client.messages.batches.list(limit=1),
        model_call=lambda client: client.models.retrieve(config.model),
        model=config.model,
        explain=explain,
    )


def explain(exc: Exception) -> tuple[Kind, str]:
    """An SDK failure as the checks' kind and message."""
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        return "connection", f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, anthropic.APIStatusError):
        return "other", f"{type(exc).__name__}: {exc}"
    status, kind, message = error_type(exc)
    billing = "quota" if is_quota(status, kind, message) else ""  # lasts: not a passing 429
    return kind_of(billing, status), f"HTTP {status} {kind or 'error'}: {message}"
