"""The provider's checks for ``run`` and ``doctor``: a key is set, and the endpoint answers one
cheap call (a list of one batch) with that key; for ``openai`` and ``azure-openai`` alike, each
from its own settings section."""

from __future__ import annotations

import dataclasses
from typing import Any

from kernel.types import HealthCheck
from plugins.common.providerchecks import Endpoint, Kind, key_check, remote_checks
from plugins.openai_provider.client import build_client
from plugins.openai_provider.config import ProviderConfig
from plugins.openai_provider.retry import classify

FIXES = {
    "openai": (
        "set OPENAI_API_KEY (or [openai] api_key, or BATCHKERNEL_OPENAI__API_KEY)",
        "check openai.base_url / OPENAI_BASE_URL and the network",
    ),
    "azure_openai": (
        "set AZURE_OPENAI_API_KEY (or [azure_openai] api_key, or "
        "BATCHKERNEL_AZURE_OPENAI__API_KEY)",
        "check azure_openai.endpoint and the network",
    ),
}


def setup_facts(settings: Any, name: str = "openai", section: str = "openai") -> dict[str, str]:
    """The banner's provider line: the endpoint, and whether a key is set (never the key)."""
    config = ProviderConfig.from_settings(settings, section)
    key = "key set" if config.api_key else "no key"
    where = (
        f"{config.base_url}, deployment {config.deployment}" if config.azure else config.base_url
    )
    return {"provider": f"{name} at {where} ({key})"}


def checks(settings: Any, *, remote: bool, section: str = "openai") -> list[HealthCheck]:
    """Key present; with ``remote``, the endpoint reachable and accepting the key."""
    config = ProviderConfig.from_settings(settings, section)
    key_fix, url_fix = FIXES[section]
    endpoint = Endpoint(section, config.base_url, key_fix, url_fix)
    found = [key_check(endpoint, config.api_key)]
    if not config.api_key or not remote:
        return found
    quick = dataclasses.replace(
        config,
        timeout_seconds=config.connect_timeout_seconds * 2,
        connect_timeout_seconds=config.connect_timeout_seconds,
    )
    client = build_client(quick)
    try:
        found += remote_checks(endpoint, lambda: client.batches.list(limit=1), None, "", explain)
    finally:
        client.close()
    return found


def explain(exc: Exception) -> tuple[Kind, str]:
    """An SDK failure as the checks' kind and message."""
    failure = classify(exc)
    if failure is None:
        return "other", f"{type(exc).__name__}: {exc}"
    if failure.status in (401, 403):
        return "auth", failure.message
    if failure.kind in ("connection", "timeout"):
        return "connection", failure.message
    if failure.kind == "not_found":
        return "not_found", failure.message
    return "other", failure.message
