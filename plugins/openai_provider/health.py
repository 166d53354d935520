"""The provider's checks for ``run`` and ``doctor``: a key is set, and the endpoint answers one
cheap call (a list of one batch) with that key; for ``openai`` and ``azure-openai`` alike, each
from its own settings section."""

from __future__ import annotations

import dataclasses
from typing import Any

from plugins.common.hookspecs import HealthCheck
from plugins.common.providerchecks import Endpoint, explained_by, provider_checks, setup_line
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
    """The banner's provider line: the endpoint (at Azure with the deployment), whether a key
    is set."""
    config = ProviderConfig.from_settings(settings, section)
    detail = f"deployment {config.deployment}" if config.azure else ""
    return setup_line(name, config.base_url, config.api_key, detail)


def checks(settings: Any, *, remote: bool, section: str = "openai") -> list[HealthCheck]:
    """Key present; with ``remote``, the endpoint reachable and accepting the key."""
    config = ProviderConfig.from_settings(settings, section)
    quick = dataclasses.replace(config, timeout_seconds=config.connect_timeout_seconds * 2)
    return provider_checks(
        Endpoint(section, config.base_url, *FIXES[section]),
        config.api_key,
        remote=remote,
        client=lambda: build_client(quick),
        list_call=lambda client: client.batches.list(limit=1),
        model_call=None,
        model="",
        explain=explained_by(classify),
    )
