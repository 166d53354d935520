"""The ``doctor`` / ``run`` checks every provider plugin makes, with the wording they share.

A provider supplies its SDK calls and a way to read its SDK's errors (:data:`Explain`); this
module turns them into :class:`kernel.types.HealthCheck` lines: the key is set, the endpoint
answers a cheap list call with it, and the configured model is one the endpoint knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kernel.types import HealthCheck

Kind = Literal["connection", "auth", "not_found", "other"]
Explain = Callable[[Exception], tuple[Kind, str]]
"""An SDK failure as (kind, short message); kinds pick the wording and the fix."""

KEY = "provider key"
REACHABLE = "provider reachable"
MODEL = "provider model"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What the checks name: the settings section, its URL and the fixes for key and URL."""

    section: str
    url: str
    key_fix: str
    url_fix: str


def key_check(endpoint: Endpoint, api_key: str) -> HealthCheck:
    """Whether ``<section>.api_key`` (or its environment variable) is set; never shows it."""
    if not api_key:
        return HealthCheck(KEY, False, f"{endpoint.section}.api_key is empty", endpoint.key_fix)
    return HealthCheck(KEY, True, f"{endpoint.section}.api_key is set")


def call_check(
    endpoint: Endpoint, call: Callable[[], object], explain: Explain, *, model: str = ""
) -> HealthCheck:
    """Run one cheap call: the list call (``model`` empty) or the model lookup; never raises."""
    url = endpoint.url
    try:
        call()
    except Exception as exc:
        kind, message = explain(exc)
        name = MODEL if model else REACHABLE
        if kind == "connection":
            return HealthCheck(name, False, f"cannot reach {url} ({message})", endpoint.url_fix)
        if kind == "auth":
            return HealthCheck(
                name, False, f"{url} refused the API key ({message})", endpoint.key_fix
            )
        if kind == "not_found" and model:
            return HealthCheck(
                name,
                False,
                f"{url} does not know model {model!r} ({message})",
                f"set {endpoint.section}.model to a model the provider lists",
            )
        return HealthCheck(name, False, f"{url} answered {message}", endpoint.url_fix)
    if model:
        return HealthCheck(MODEL, True, f"{url} knows model {model!r}")
    return HealthCheck(REACHABLE, True, f"{url} answered a list call")


def remote_checks(
    endpoint: Endpoint,
    list_call: Callable[[], object],
    model_call: Callable[[], object] | None,
    model: str,
    explain: Explain,
) -> list[HealthCheck]:
    """The list call, then (when it passed and the provider has one) the model lookup."""
    found = [call_check(endpoint, list_call, explain)]
    if found[0].ok and model_call is not None:
        found.append(call_check(endpoint, model_call, explain, model=model))
    return found
