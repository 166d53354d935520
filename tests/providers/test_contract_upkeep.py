"""Every provider's upkeep hooks, each through its real SDK against its emulator: the ``doctor``
and ``run`` checks pass on a ready endpoint, name a refused key and only warn of a busy one
(server errors), the banner names the provider
and its endpoint, and the sweep deletes what cleanup was told to keep once the batches are over
(SQLite and PostgreSQL answer which are)."""

from __future__ import annotations

from typing import Any

from plugins.common.healthchecks import health_checks
from plugins.core_commands.run import describe_setup
from tests.providers.cases import ProviderCase


def _checks(kernel: Any) -> dict[str, Any]:
    """The provider's checks by name."""
    return {c.name: c for c in health_checks(kernel, remote=True) if c.name.startswith("provider")}


def test_checks_pass_and_the_banner_names_the_endpoint(
    make_contract: Any, sqlite_url: str, case: ProviderCase
) -> None:
    contract = make_contract(sqlite_url, sessions=2, companies=1)
    checks = _checks(contract.kernel)
    assert {"provider key", "provider reachable"} <= set(checks), checks
    assert all(check.ok for check in checks.values()), checks
    banner = describe_setup(contract.kernel)["provider"]
    assert banner.startswith(f"{case.name} at {contract.server.base_url}"), banner
    assert "key set" in banner and "test-key" not in banner


def test_checks_name_a_refused_key(make_contract: Any, sqlite_url: str, case: ProviderCase) -> None:
    contract = make_contract(
        sqlite_url,
        sessions=2,
        companies=1,
        faults={"api_key": "the-right-key"},
        **case.prefixed({"api_key": "a-wrong-key"}),
    )
    reachable = _checks(contract.kernel)["provider reachable"]
    assert not reachable.ok and "refused the API key" in reachable.detail, reachable
    assert case.section in reachable.fix or case.section.upper() in reachable.fix, reachable


def test_a_busy_endpoint_warns_and_does_not_stop_run(
    make_contract: Any, sqlite_url: str, case: ProviderCase
) -> None:
    """Server errors on the list call, past the SDK's retries: the URL and key may be right and
    the scheduler retries what it sends, so ``run`` starts with a warning."""
    contract = make_contract(
        sqlite_url, sessions=2, companies=1, faults={"first_500": {"list": 50}}
    )
    reachable = _checks(contract.kernel)["provider reachable"]
    assert not reachable.ok and not reachable.blocking, reachable
    assert "a passing condition, the scheduler retries" in reachable.detail, reachable
    assert contract.injected("500") >= 1


def test_sweep_deletes_what_cleanup_kept_once_batches_are_over(
    make_contract: Any, db_url: str, case: ProviderCase
) -> None:
    contract = make_contract(
        db_url, sessions=12, companies=1, **case.prefixed({case.retention: "keep"})
    )
    contract.run()
    assert contract.remaining(), "kept by the retention setting"
    contract.kernel.settings.set(f"{case.section}.{case.retention}", "delete")
    contract.kernel.settings.set(f"{case.section}.sweep_interval_seconds", 0)
    assert contract.scheduler._sweep() > 0
    assert contract.remaining() == []
