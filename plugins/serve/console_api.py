"""The console's API under ``/api``: listings and details of batches, requests and companies,
the audit log and the metrics samples (GET), and the operator actions (POST).

Reads go through the monitoring reader (its own read-only pool). Actions need a token with role
``operator`` and the header ``X-Requested-With: batchkernel`` (a browser cannot send it from
another site, so a page elsewhere cannot act with a logged-in operator's credentials); they
take no body, only the target in the path. A company-scoped token reads and acts on its own
company only: other companies' rows are "not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.samples import series
from plugins.common.operations import actions, audit, details, listing
from plugins.common.operations import filters as f
from plugins.serve.auth import Grant
from plugins.serve.responses import RequestError, Response, json_response, query_params

LIST_FILTERS = ("company", "state", "task", "provider", "since", "page", "page_size")
READS: dict[str, tuple[str, ...]] = {
    "/api/batches": LIST_FILTERS,
    "/api/requests": (*LIST_FILTERS, "batch"),
    "/api/companies": ("page", "page_size"),
    "/api/audit": ("limit",),
    "/api/samples": ("minutes",),
    "/api/whoami": (),
}
DETAIL = re.compile(r"^/api/(batches|requests)/([^/]+)$")
ACTION = re.compile(r"^/api/(batches|requests|companies)/([^/]+)/([a-z]+)$")
ACTIONS: dict[tuple[str, str], Callable[..., actions.Outcome]] = {
    ("batches", "cancel"): actions.cancel_batch,
    ("requests", "retry"): actions.retry_request,
    ("requests", "cancel"): actions.cancel_request,
    ("companies", "pause"): lambda kernel, actor, target: actions.set_paused(
        kernel, actor, target, True
    ),
    ("companies", "resume"): lambda kernel, actor, target: actions.set_paused(
        kernel, actor, target, False
    ),
}
ACTION_HEADER = ("x-requested-with", "batchkernel")
MAX_AUDIT = 200
MAX_MINUTES = 1440


def handles(path: str) -> bool:
    """Whether ``path`` is one of the console API's."""
    return path in READS or bool(DETAIL.match(path)) or bool(ACTION.match(path))


def _target(raw: str) -> str:
    """An id from the path: decoded, printable, at most 64 characters."""
    value = unquote(raw)
    try:
        return f.text_value(value, "id", 64) or ""
    except f.FilterError as exc:
        raise RequestError(400, str(exc)) from None


class ConsoleApi:
    """Answers the console's API requests for one app (kernel, reader, page limits)."""

    def __init__(self, kernel: KernelAPI, reader: MonitorReader, max_page_size: int) -> None:
        self.kernel = kernel
        self.reader = reader
        self.max_page_size = max_page_size

    def answer(
        self, method: str, path: str, query: str, grant: Grant, headers: Mapping[str, str]
    ) -> Response:
        """Dispatch one request (the token is already checked)."""
        acting = ACTION.match(path)
        if acting:
            if method != "POST":
                raise RequestError(405, f"method {method} not allowed; use POST", allow="POST")
            query_params(path, query, ())
            return self._act(
                acting.group(1), _target(acting.group(2)), acting.group(3), grant, headers
            )
        if method not in ("GET", "HEAD"):
            raise RequestError(405, f"method {method} not allowed; use GET")
        detail = DETAIL.match(path)
        if detail:
            params = query_params(path, query, ("page",) if detail.group(1) == "batches" else ())
            return self._detail(detail.group(1), _target(detail.group(2)), params, grant)
        params = query_params(path, query, READS[path])
        try:
            return self._read(path, params, grant)
        except f.FilterError as exc:
            raise RequestError(400, str(exc)) from None

    def _read(self, path: str, params: dict[str, str], grant: Grant) -> Response:
        """The listings, the audit log, the samples and who the token is."""
        if path == "/api/whoami":
            return json_response(
                200, {"role": grant.role, "company": grant.company, "name": grant.name}
            )
        page = f.page_number(params.get("page", "1"))
        size = f.page_number(params.get("page_size", "50"), "page_size", self.max_page_size)
        with self.reader.connect() as conn:
            if path == "/api/audit":
                limit = f.page_number(params.get("limit", "20"), "limit", MAX_AUDIT)
                return json_response(
                    200, {"rows": audit.recent(conn, company=grant.company, limit=limit)}
                )
            if path == "/api/samples":
                return self._samples(conn, params, grant)
            if path == "/api/companies":
                result = listing.list_companies(conn, page, size, company=grant.company)
                return json_response(200, result.as_dict())
            chosen = self._filters(path, params, grant)
            if path == "/api/batches":
                result = listing.list_batches(conn, chosen, page, size)
            else:
                result = listing.list_requests(conn, chosen, page, size)
        return json_response(200, {**result.as_dict(), "filters": chosen.describe()})

    @staticmethod
    def _filters(path: str, params: dict[str, str], grant: Grant) -> f.Filters:
        """The listing's filters; a company-scoped token is held to its company."""
        company = f.text_value(params.get("company"), "company", 64)
        if grant.company is not None:
            if company not in (None, grant.company):
                raise RequestError(403, "this token may only read its own company")
            company = grant.company
        state = f.batch_state if path == "/api/batches" else f.request_state
        return f.Filters(
            company=company,
            state=state(params.get("state")),
            task=f.text_value(params.get("task"), "task", 100),
            provider=f.text_value(params.get("provider"), "provider", 50),
            since=f.since(params.get("since")),
            batch=f.text_value(params.get("batch"), "batch", 36),
        )

    def _samples(self, conn: Any, params: dict[str, str], grant: Grant) -> Response:
        """The per-minute samples (all companies' totals: global tokens only)."""
        minutes = f.page_number(params.get("minutes", "60"), "minutes", MAX_MINUTES)
        if grant.company is not None:
            return json_response(
                200, {"minutes": minutes, "samples": [], "note": "not shown for a company token"}
            )
        return json_response(200, {"minutes": minutes, "samples": series(conn, minutes=minutes)})

    def _instructions(self) -> dict[str, str]:
        """Each task's system instructions, shown as a request's input."""
        return {name: task.instructions for name, task in calls.tasks(self.kernel).items()}

    def _detail(self, kind: str, target: str, params: dict[str, str], grant: Grant) -> Response:
        """One batch (with a page of its requests) or one request."""
        with self.reader.connect() as conn:
            if kind == "batches":
                try:
                    page = f.page_number(params.get("page", "1"))
                except f.FilterError as exc:
                    raise RequestError(400, str(exc)) from None
                found = details.batch_detail(conn, target, page=page)
            else:
                found = details.request_detail(conn, target, self._instructions())
        if found is None or (grant.company is not None and found["company_id"] != grant.company):
            noun = "batch" if kind == "batches" else "request"
            raise RequestError(404, f"no {noun} with id {target!r}")
        return json_response(200, found)

    def _act(
        self, kind: str, target: str, verb: str, grant: Grant, headers: Mapping[str, str]
    ) -> Response:
        """Run one action for an operator token; audited whatever the result."""
        action = ACTIONS.get((kind, verb))
        if action is None:
            valid = ", ".join(v for k, v in ACTIONS if k == kind)
            raise RequestError(404, f"no action {verb!r} on {kind}; valid: {valid}")
        if not grant.may_act:
            raise RequestError(
                403,
                'this token may only read; actions need a token with role = "operator" in '
                "serve.tokens",
            )
        name, value = ACTION_HEADER
        if headers.get(name, "").lower() != value:
            raise RequestError(
                403, f"actions need the header X-Requested-With: {value} (sent by the console)"
            )
        actor = actions.Actor(f"token:{grant.name}", grant.company)
        outcome = action(self.kernel, actor, target)
        if outcome.ok:
            return json_response(200, outcome.as_dict())
        return json_response(outcome.status, {"error": outcome.message, **outcome.as_dict()})
