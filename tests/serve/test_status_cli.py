"""``batchkernel status``: the same measured snapshot as serve, as JSON and as tables."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from typer.testing import CliRunner

from plugins.cli.main import build_app
from tests.serve.conftest import Served
from tests.serve.tenants import seed_tenants
from tests.serve.test_scale import expected_order

app = build_app([])

runner = CliRunner()


def test_status_json_matches_the_database(served: Served) -> None:
    url = served.pipeline.kernel.db.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["status", "--json", "--database", url])
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    requests = served.pipeline.requests()
    assert {k: v for k, v in snapshot["requests"]["by_state"].items() if v} == Counter(
        r.status for r in requests
    )
    assert snapshot["scheduler"]["instances"] and snapshot["last_cycle"]["seconds"] > 0
    assert snapshot["cache"]["backend"] == "disk" and snapshot["cache"]["misses"] >= 1
    assert snapshot["breakers"]["create"]["state"] == "closed"

    scoped = runner.invoke(
        app, ["status", "--json", "--company", served.company, "--database", url]
    )
    assert scoped.exit_code == 0, scoped.output
    assert [c["id"] for c in json.loads(scoped.stdout)["companies"]] == [served.company]
    missing = runner.invoke(app, ["status", "--company", "no-such-company", "--database", url])
    assert missing.exit_code == 1


def test_status_text_shows_each_plugin_section_as_key_value_lines(served: Served) -> None:
    url = served.pipeline.kernel.db.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["status", "--database", url], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "PROCESSING_COMPLETE" in text and "last cycle" in text
    assert re.search(r"breakers create\W+state closed\b", text)
    assert re.search(r"cache backend\W+disk\b", text)
    plugins = text[text.index("plugins") :]
    assert "{" not in plugins and "'" not in plugins, "a section printed as a raw dict"


def test_status_shows_the_top_companies_and_one_other_row(make_kernel: Any, db_url: str) -> None:
    kernel = make_kernel(db_url)
    seed_tenants(kernel.db.engine, 60)
    url = kernel.db.url.render_as_string(hide_password=False)
    order = expected_order(60)
    env = {"BATCHKERNEL_SERVE__TOP_COMPANIES": "10", "COLUMNS": "160"}
    result = runner.invoke(app, ["status", "--json", "--database", url], env=env)
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert [c["id"] for c in snapshot["companies"]] == order[:10]
    assert snapshot["other"]["companies"] == 50
    text = runner.invoke(app, ["status", "--database", url], env=env).stdout
    assert "top 10 of 60" in text and "50 other companies" in text
    assert order[0] in text and order[10] not in text
    detail = runner.invoke(app, ["status", "--json", "--company", order[30], "--database", url])
    assert [c["id"] for c in json.loads(detail.stdout)["companies"]] == [order[30]]
