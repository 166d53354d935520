"""The ``doctor`` / ``run`` checks every provider plugin makes, with the wording they share.

A provider supplies its SDK calls and a way to read its SDK's errors (:data:`Explain`); this
module turns them into :class:`plugins.common.hookspecs.HealthCheck` lines: the key is set, the endpoint
answers a cheap list call with it, and the configured model is one the endpoint knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from plugins.common.hookspecs import HealthCheck

Kind = Literal["connection", "auth", "not_found", "busy", "other"]
Explain = Callable[[Exception], tuple[Kind, str]]
"""An SDK failure as (kind, short message); kinds pick the wording and the fix. ``busy``: the
endpoint answered with a passing condition (rate limited, a server error)."""

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
        if kind == "busy":
            # The URL and the key work; the provider is busy or failing for now. The scheduler
            # retries what it sends, so ``run`` starts (with a warning) rather than stopping.
            return HealthCheck(
                name,
                False,
                f"{url} answered {message}; a passing condition, the scheduler retries",
                blocking=False,
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


def provider_checks(
    endpoint: Endpoint,
    api_key: str,
    *,
    remote: bool,
    client: Callable[[], Any],
    list_call: Callable[[Any], object],
    model_call: Callable[[Any], object] | None,
    model: str,
    explain: Explain,
) -> list[HealthCheck]:
    """The key; with ``remote`` and a key, the list call on a fresh ``client()`` (closed after)
    and, when it passed and the provider has one, the model lookup."""
    found = [key_check(endpoint, api_key)]
    if not api_key or not remote:
        return found
    sdk = client()
    try:
        found.append(call_check(endpoint, lambda: list_call(sdk), explain))
        if found[-1].ok and model_call is not None:
            found.append(call_check(endpoint, lambda: model_call(sdk), explain, model=model))
    finally:
        sdk.close()
    return found


def setup_line(name: str, url: str, api_key: str, detail: str = "") -> dict[str, str]:
    """The banner's provider line: name, endpoint, ``detail`` and whether a key is set (never
    the key)."""
    key = "key set" if api_key else "no key"
    return {"provider": f"{name} at {url} ({detail + ', ' if detail else ''}{key})"}


def kind_of(kind: str, status: int | None) -> Kind:
    """A provider's failure kind and HTTP status as the checks' kind."""
    if status in (401, 403) or kind == "unauthorized":
        return "auth"
    if kind in ("connection", "timeout"):
        return "connection"
    if kind in ("rate_limited", "server_error"):
        return "busy"
    if not kind and status is not None and (status == 429 or status >= 500):
        return "busy"  # a provider that passes only its status (a quota refusal passes a kind)
    return "not_found" if status == 404 or kind == "not_found" else "other"


def explained_by(classify: Callable[[Exception], Any]) -> Explain:
    """An :data:`Explain` from a provider's failure classifier (``kind``, ``status`` and
    ``message`` of what it returns; ``None`` for an exception it does not know)."""

    def explain(exc: Exception) -> tuple[Kind, str]:
        """The checks' kind and message of one failure."""
        failure = classify(exc)
        if failure is None:
            return "other", f"{type(exc).__name__}: {exc}"
        return kind_of(failure.kind, failure.status), failure.message

    return explain
