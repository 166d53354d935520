"""Tokens fail closed: an entry that names a company must name one, or start-up fails (with the
entry's position, never its secret); a company token never sees other tenants' spend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from kernel.types import ConfigError
from plugins.common.schema.models import BudgetHold
from plugins.serve import start_server
from tests.serve.conftest import TOKEN, get

SECRET = "very-secret-token-0123456789"


@pytest.mark.parametrize(
    "entry",
    [
        {"token": SECRET, "company": ""},
        {"token": SECRET, "company": "   "},
        {"token": SECRET, "company": 0},
        {"token": SECRET, "company": None},
        {"token": SECRET, "company": False},
        {"token": SECRET, "company": ["acme"]},
        {"token": SECRET, "compnay": "acme"},
        {"token": 1234567890123456789},
        {"company": "acme"},
        {"token": SECRET, "role": "admin"},
        {"token": SECRET, "role": None},
        {"token": SECRET, "name": ""},
    ],
    ids=[
        "empty",
        "blank",
        "zero",
        "null",
        "false",
        "list",
        "typo",
        "number",
        "no-token",
        "unknown-role",
        "null-role",
        "empty-name",
    ],
)
def test_a_token_entry_that_names_no_company_stops_start_up(
    make_kernel: Any, sqlite_url: str, entry: dict[str, Any]
) -> None:
    kernel = make_kernel(sqlite_url, serve__tokens=[{"token": TOKEN}, entry])
    with pytest.raises(ConfigError) as caught:
        start_server(kernel, "127.0.0.1", 0)
    message = str(caught.value)
    assert "serve.tokens[1]" in message
    assert SECRET not in message


def test_roles_default_to_read_and_name_the_actor() -> None:
    from kernel.settings import load_settings
    from plugins.serve.auth import TokenTable

    settings = load_settings(
        {
            "serve.tokens": [
                SECRET,
                {"token": TOKEN, "role": "operator", "name": "ops", "company": "acme"},
            ]
        }
    )
    table = TokenTable.from_settings(settings)
    reader = table.check(f"Bearer {SECRET}")
    operator = table.check(f"Bearer {TOKEN}")
    assert reader is not None and operator is not None
    assert (reader.role, reader.may_act, reader.name) == ("read", False, "token 0")
    assert (operator.role, operator.may_act, operator.name, operator.company) == (
        "operator",
        True,
        "ops",
        "acme",
    )
    assert SECRET not in repr(reader)


def test_a_repeated_token_stops_start_up(make_kernel: Any, sqlite_url: str) -> None:
    tokens = [{"token": SECRET, "company": "acme"}, SECRET]
    kernel = make_kernel(sqlite_url, serve__tokens=tokens)
    with pytest.raises(ConfigError, match=r"serve\.tokens\[1\] repeats") as caught:
        start_server(kernel, "127.0.0.1", 0)
    assert SECRET not in str(caught.value)


def test_a_company_token_does_not_see_the_overall_budget_figures(
    make_kernel: Any, sqlite_url: str
) -> None:
    kernel = make_kernel(
        sqlite_url,
        serve__tokens=[TOKEN, {"token": SECRET, "company": "acme"}],
        budgets__daily_usd=123.4567,
    )
    overall = (
        "waiting: overall daily budget of $123.4567 reached ($123.0000 committed, this batch "
        "needs $0.9000); goes on from 2026-11-02 00:00 UTC or when raised"
    )
    own = (
        "waiting: company acme daily budget of $5.0000 reached ($4.5000 committed, this batch "
        "needs $0.9000); goes on from 2026-11-02 00:00 UTC or when raised"
    )
    with kernel.db.transaction() as session:
        session.execute(
            insert(BudgetHold),
            [
                {
                    "scope": "company:acme",
                    "need": 0.9,
                    "reason": overall,
                    "held_at": datetime.now(UTC),
                },
                {
                    "scope": "company:other",
                    "need": 0.9,
                    "reason": own,
                    "held_at": datetime.now(UTC),
                },
            ],
        )
    handle = start_server(kernel, "127.0.0.1", 0)
    try:
        scoped = json.loads(get(handle.url + "/api/batch-monitoring", SECRET)[2])
        global_view = json.loads(get(handle.url + "/api/batch-monitoring", TOKEN)[2])
    finally:
        handle.stop()
    shown = json.dumps(scoped)
    assert "123.4" not in shown and "123.0" not in shown and "overall" not in shown
    assert [hold["scope"] for hold in scoped["budgets"]["holds"]] == ["company:acme"]
    assert "shared by all companies" in scoped["budgets"]["holds"][0]["reason"]
    assert scoped["budgets"]["budgets"] == []
    assert {hold["reason"] for hold in global_view["budgets"]["holds"]} == {overall, own}
    assert global_view["budgets"]["budgets"][0]["limit_usd"] == pytest.approx(123.4567)


def test_a_company_token_keeps_its_own_budget_reason(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url, serve__tokens=[{"token": SECRET, "company": "acme"}])
    own = "waiting: company acme monthly budget of $5.0000 reached ($4.5000 committed)"
    with kernel.db.transaction() as session:
        session.execute(
            insert(BudgetHold),
            [{"scope": "company:acme", "need": 0.9, "reason": own, "held_at": datetime.now(UTC)}],
        )
    handle = start_server(kernel, "127.0.0.1", 0)
    try:
        scoped = json.loads(get(handle.url + "/api/batch-monitoring", SECRET)[2])
    finally:
        handle.stop()
    assert [hold["reason"] for hold in scoped["budgets"]["holds"]] == [own]
