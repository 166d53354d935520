"""Changes made through batchkernel are seen at once; changes behind its back within the TTL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from plugins.cli.main import build_app
from plugins.common import calls
from plugins.common.importing.importer import import_file
from plugins.common.schema.statuses import CompanyStatus
from plugins.companies.queries import set_company_status
from tests.cache.support import add_companies, ids, set_status_behind_its_back

app = build_app([])

runner = CliRunner()


def _session_line(company: str, session_id: str) -> str:
    """One JSONL session of ``company``."""
    return json.dumps(
        {
            "company": company,
            "company_name": f"Company {company}",
            "session_id": session_id,
            "start_time": "2026-11-01T09:00:00Z",
            "messages": [{"role": "user", "content": "When is payday?"}],
        }
    )


def test_an_imported_company_is_seen_at_once(cached_kernel: Any, tmp_path: Path) -> None:
    kernel, plugin, _clock = cached_kernel()
    add_companies(kernel, "a")
    assert ids(kernel.get_companies()) == ["a"]
    source = tmp_path / "new.jsonl"
    source.write_text(_session_line("new-co", "s-1") + "\n")
    assert import_file(kernel, source).companies_created == 1
    assert ids(kernel.get_companies()) == ["a", "new-co"]
    assert plugin.stats.invalidations == 1 and plugin.stats.misses == 2


def test_set_status_in_this_process_is_seen_at_once(cached_kernel: Any) -> None:
    kernel, _plugin, _clock = cached_kernel()
    add_companies(kernel, "a", "b")
    assert ids(kernel.get_companies()) == ["a", "b"]
    assert set_company_status(kernel, "b", CompanyStatus.SUSPENDED) == "ACTIVE"
    assert ids(kernel.get_companies()) == ["a"]
    assert set_company_status(kernel, "b", CompanyStatus.ACTIVE) == "SUSPENDED"
    assert ids(kernel.get_companies()) == ["a", "b"]
    assert set_company_status(kernel, "missing", CompanyStatus.ACTIVE) is None


def test_the_companies_command_reaches_a_shared_cache(
    cached_kernel: Any, backend: str, cache_settings: dict[str, Any], db_url: str
) -> None:
    """``batchkernel companies set-status`` builds its own kernel (as another process would)."""
    if backend == "memory":
        return  # a process's memory is its own; covered by the in-process test above
    kernel, _plugin, _clock = cached_kernel()
    add_companies(kernel, "a", "b")
    assert ids(kernel.get_companies()) == ["a", "b"]
    env = {f"BATCHKERNEL_{key.upper()}": str(value) for key, value in cache_settings.items()}
    env |= {"BATCHKERNEL_PLUGINS__AUTOLOAD": "false", "OPENAI_API_KEY": "test-key"}
    result = runner.invoke(
        app, ["companies", "set-status", "a", "ARCHIVED", "--database", db_url], env=env
    )
    assert result.exit_code == 0, result.output
    assert "ACTIVE -> ARCHIVED" in result.output
    assert ids(kernel.get_companies()) == ["b"]
    listed = runner.invoke(app, ["companies", "list", "--database", db_url], env=env)
    assert listed.exit_code == 0 and "ARCHIVED" in listed.output
    missing = runner.invoke(
        app, ["companies", "set-status", "zzz", "ACTIVE", "--database", db_url], env=env
    )
    assert missing.exit_code == 1 and "no company" in missing.output


def test_a_change_behind_its_back_is_seen_after_the_ttl(cached_kernel: Any) -> None:
    kernel, _plugin, clock = cached_kernel(cache__refresh_ahead=1.0)
    add_companies(kernel, "a", "b")
    assert ids(kernel.get_companies()) == ["a", "b"]
    set_status_behind_its_back(kernel, "a", "SUSPENDED")
    clock.advance(299)
    assert ids(kernel.get_companies()) == ["a", "b"]  # stale, within the TTL
    clock.advance(1)
    assert ids(kernel.get_companies()) == ["b"]


def test_a_change_behind_its_back_is_picked_up_by_refresh_ahead(cached_kernel: Any) -> None:
    kernel, plugin, clock = cached_kernel()
    add_companies(kernel, "a", "b")
    kernel.get_companies()
    set_status_behind_its_back(kernel, "b", "TRIAL")
    clock.advance(240)
    assert ids(kernel.get_companies()) == ["a", "b"]  # served stale, refresh started
    assert plugin.wait_idle()
    assert ids(kernel.get_companies()) == ["a"]
    assert plugin.stats.misses == 1 and plugin.stats.refreshes == 1


def test_an_invalidation_during_a_read_does_not_store_the_old_list(cached_kernel: Any) -> None:
    """The generation check: a fill that raced a change is not stored."""
    kernel, plugin, _clock = cached_kernel()
    add_companies(kernel, "a", "b")
    cache = plugin.cache(kernel)
    companies, ticket = cache.lookup()
    assert companies is None and not ticket.hit
    stale = kernel.pm.subset_hook_caller("get_companies", remove_plugins=[plugin])(kernel=kernel)
    set_status_behind_its_back(kernel, "a", "SUSPENDED")
    calls.companies_changed(kernel, ["a"])
    assert cache.fill(ticket, stale) is False
    cache.release(ticket)
    assert ids(kernel.get_companies()) == ["b"]
