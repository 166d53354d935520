"""The monitoring routes, independent of the HTTP server: request in, :class:`Response` out.

Health checks are open; everything else needs a bearer token (a company-scoped token sees only
its company). Monitoring routes are GET and HEAD only and never change state; the console's
API (:mod:`plugins.serve.console_api`) adds reads and the operator actions (POST, no body).
Unknown or malformed query
parameters are a 400 that says what is valid, before anything reaches the database. Snapshots
come from a short-lived cache shared by concurrent requests (:mod:`plugins.serve.snapshots`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kernel.api import KernelAPI
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.samples import SampleWriter
from plugins.common.monitoring.snapshot import build_snapshot, company_id_problem, top_companies
from plugins.serve import console_api
from plugins.serve.auth import Grant, TokenTable
from plugins.serve.formats import snapshot_csv, snapshot_prometheus
from plugins.serve.responses import RequestError, Response, json_response, query_params
from plugins.serve.sampler import BackgroundSampler
from plugins.serve.snapshots import SnapshotCache

__all__ = ["MonitoringApp", "RequestError", "Response"]

log = logging.getLogger("batchkernel.serve")
STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PARAMETERS: dict[str, tuple[str, ...]] = {
    "/healthz": (),
    "/readyz": (),
    "/api/batch-monitoring": ("company", "format", "minutes", "page", "page_size"),
    "/metrics": ("company",),
    "/": (),
    "/dashboard": (),
}
FORMATS = ("json", "csv")
MAX_MINUTES = 1440
MAX_PAGE = 1_000_000
CHALLENGES = (
    ("WWW-Authenticate", 'Bearer realm="batchkernel"'),
    ("WWW-Authenticate", 'Basic realm="batchkernel", charset="UTF-8"'),
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class MonitoringApp:
    """Routes for health, the snapshot (JSON/CSV), Prometheus metrics and the dashboard."""

    def __init__(self, kernel: KernelAPI, tokens: TokenTable) -> None:
        self.kernel = kernel
        self.tokens = tokens
        self.reader = MonitorReader.for_database(kernel.db)
        section = kernel.settings.serve
        self.refresh_seconds = float(section.refresh_seconds)
        self.page_size = top_companies(kernel.settings)
        self.max_page_size = int(section.max_page_size)
        self.snapshots = SnapshotCache(self._build, float(section.cache_seconds))
        self.console = console_api.ConsoleApi(kernel, self.reader, self.max_page_size)
        self.sampler = BackgroundSampler(SampleWriter(kernel.db.url))
        self.sampler.start()

    def close(self) -> None:
        """Stop sampling; release the database pools."""
        self.sampler.stop()
        self.reader.dispose()

    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """Answer one request; never raises."""
        try:
            return self._route(method, target, headers)
        except RequestError as exc:
            response = json_response(exc.status, {"error": str(exc), **exc.extra})
            if exc.status == 401:
                response.headers.extend(CHALLENGES)
            if exc.status == 405:
                response.headers.append(("Allow", exc.allow))
            return response
        except Exception:
            log.exception("monitoring request %s failed", target.split("?", 1)[0])
            return json_response(500, {"error": "internal error; see the server log"})

    def _route(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """Check method, path, parameters and token, then dispatch."""
        path, _, query = target.partition("?")
        if console_api.handles(path):
            grant = self.tokens.check(headers.get("authorization"))
            if grant is None:
                raise RequestError(401, "a valid bearer token is required")
            return self.console.answer(method, path, query, grant, headers)
        if method not in ("GET", "HEAD"):
            raise RequestError(405, f"method {method} not allowed; use GET")
        static = path.startswith("/static/")
        if path not in PARAMETERS and not static:
            raise RequestError(
                404, f"no such path: {path}", paths=sorted({*PARAMETERS, *console_api.READS})
            )
        params = query_params(path, query, () if static else PARAMETERS[path])
        if path == "/healthz":
            return json_response(200, {"status": "ok"})
        if path == "/readyz":
            return self._ready()
        grant = self.tokens.check(headers.get("authorization"))
        if grant is None:
            raise RequestError(401, "a valid bearer token is required")
        company = self._company(grant, params.get("company"))
        if static:
            return self._static(path.removeprefix("/static/"))
        if path in ("/", "/dashboard"):
            return self._dashboard()
        if path == "/metrics":
            snapshot = self._snapshot(grant, company, 60, 1, self.page_size)
            return Response(
                200,
                snapshot_prometheus(snapshot),
                "text/plain; version=0.0.4; charset=utf-8",
            )
        return self._monitoring(grant, company, params)

    @staticmethod
    def _company(grant: Grant, asked: str | None) -> str | None:
        """The company to show: the token's own one, or the one asked for by a global token."""
        problem = None if asked is None else company_id_problem(asked)
        if problem is not None:
            raise RequestError(400, problem)
        if grant.company is None:
            return asked
        if asked is not None and asked != grant.company:
            raise RequestError(403, "this token may only read its own company")
        return grant.company

    def _ready(self) -> Response:
        """200 when the database answers, else 503 with the error's type (no connection details)."""
        try:
            self.reader.ping()
        except Exception as exc:
            log.warning("readiness check: database unreachable: %s", type(exc).__name__)
            return json_response(503, {"status": "unavailable", "database": type(exc).__name__})
        return json_response(200, {"status": "ready", "database": "reachable"})

    def _snapshot(
        self, grant: Grant, company: str | None, minutes: int, page: int, page_size: int
    ) -> dict[str, Any]:
        """The snapshot for this token (global sections only for unscoped tokens), cached."""
        return self.snapshots.get((company, grant.company is None, minutes, page, page_size))

    def _build(self, key: tuple[str | None, bool, int, int, int]) -> dict[str, Any]:
        """Build one snapshot from the database (called once per key and cache period)."""
        company, include_global, minutes, page, page_size = key
        return build_snapshot(
            self.reader,
            self.kernel,
            company=company,
            include_global=include_global,
            throughput_minutes=minutes,
            page=page,
            page_size=page_size,
        )

    @staticmethod
    def _whole(params: dict[str, str], name: str, default: int, high: int) -> int:
        """A whole-number parameter from 1 to ``high``, else a 400 saying so."""
        try:
            value = int(params.get(name, str(default)))
        except ValueError:
            value = 0
        if not 1 <= value <= high:
            raise RequestError(400, f"{name} must be a whole number from 1 to {high}")
        return value

    def _monitoring(self, grant: Grant, company: str | None, params: dict[str, str]) -> Response:
        """``/api/batch-monitoring``: the snapshot as JSON, or per-company rows as CSV."""
        fmt = params.get("format", "json")
        if fmt not in FORMATS:
            raise RequestError(400, f"format must be one of: {', '.join(FORMATS)}")
        minutes = self._whole(params, "minutes", 60, MAX_MINUTES)
        page = self._whole(params, "page", 1, MAX_PAGE)
        page_size = self._whole(params, "page_size", self.page_size, self.max_page_size)
        snapshot = self._snapshot(grant, company, minutes, page, page_size)
        if fmt == "csv":
            response = Response(200, snapshot_csv(snapshot), "text/csv; charset=utf-8")
            response.headers.append(
                ("Content-Disposition", 'attachment; filename="batch-monitoring.csv"')
            )
            return response
        return json_response(200, snapshot)

    def _dashboard(self) -> Response:
        """The dashboard page, with the refresh interval filled in."""
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        html = html.replace("{{REFRESH_SECONDS}}", f"{self.refresh_seconds:g}")
        response = Response(200, html.encode(), STATIC_TYPES[".html"])
        response.headers.append(("Content-Security-Policy", CSP))
        return response

    def _static(self, name: str) -> Response:
        """One shipped asset by plain file name (no directories, no traversal)."""
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES:
            raise RequestError(404, f"no such file: {name}")
        if not path.is_file():
            raise RequestError(404, f"no such file: {name}")
        return Response(200, path.read_bytes(), STATIC_TYPES[path.suffix])
