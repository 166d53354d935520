"""The provider's checks for ``run`` and ``doctor``: a key is set, and the endpoint answers one
cheap call (a list of one batch) with that key."""

from __future__ import annotations

from typing import Any

from kernel.types import HealthCheck
from plugins.openai_provider.config import ProviderConfig
from plugins.openai_provider.retry import classify

KEY_FIX = "set OPENAI_API_KEY (or [openai] api_key, or BATCHKERNEL_OPENAI__API_KEY)"
URL_FIX = "check openai.base_url / OPENAI_BASE_URL and the network"


def setup_facts(settings: Any) -> dict[str, str]:
    """The banner's provider line: the endpoint, and whether a key is set (never the key)."""
    config = ProviderConfig.from_settings(settings)
    key = "key set" if config.api_key else "no key"
    return {"provider": f"openai at {config.base_url} ({key})"}


def checks(settings: Any, *, remote: bool) -> list[HealthCheck]:
    """Key present; with ``remote``, the endpoint reachable and accepting the key."""
    config = ProviderConfig.from_settings(settings)
    if not config.api_key:
        return [HealthCheck("provider key", False, "openai.api_key is empty", KEY_FIX)]
    found = [HealthCheck("provider key", True, "openai.api_key is set")]
    if remote:
        found.append(reachable(config))
    return found


def reachable(config: ProviderConfig) -> HealthCheck:
    """One ``GET /batches?limit=1`` without retries: does the endpoint answer and take the key?"""
    import openai

    name = "provider reachable"
    client = openai.OpenAI(
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=openai.Timeout(
            config.connect_timeout_seconds * 2, connect=config.connect_timeout_seconds
        ),
        max_retries=0,
    )
    try:
        client.batches.list(limit=1)
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            return HealthCheck(
                name, False, f"{config.base_url}: {type(exc).__name__}: {exc}", URL_FIX
            )
        if failure.status in (401, 403):
            return HealthCheck(
                name,
                False,
                f"{config.base_url} refused the API key ({failure.message})",
                "check OPENAI_API_KEY / openai.api_key",
            )
        if failure.kind in ("connection", "timeout"):
            return HealthCheck(
                name, False, f"cannot reach {config.base_url} ({failure.message})", URL_FIX
            )
        return HealthCheck(name, False, f"{config.base_url} answered {failure.message}", URL_FIX)
    finally:
        client.close()
    return HealthCheck(name, True, f"{config.base_url} answered a list call")
