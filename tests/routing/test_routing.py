"""The routing plugin without a pipeline: settings, registration, routes, status, the banner and
doctor's checks, the sweep over several providers, and ``companies set-provider``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.manager import Kernel
from kernel.types import Company, ConfigError
from plugins.cache_common.store import Entry
from plugins.cli.main import build_app
from plugins.common import calls
from plugins.common.healthchecks import health_checks
from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl
from plugins.core_commands.run import describe_setup
from tests.test_cli import batchkernel, cli_env

BASE = {"plugins.autoload": False, "openai.api_key": "test-key"}


def kernel_with(tmp_path: Path, extra: Any = (), **settings: Any) -> Kernel:
    """A kernel on a throwaway SQLite file with these settings (``a__b`` for ``a.b``)."""
    overrides = {
        **BASE,
        "database.url": f"sqlite:///{tmp_path / 'routing.db'}",
        "batch.workdir": str(tmp_path / "files"),
        **{key.replace("__", "."): value for key, value in settings.items()},
    }
    return Kernel.create(overrides=overrides, extra=extra)


def test_every_listed_provider_is_registered(tmp_path: Path) -> None:
    kernel = kernel_with(tmp_path, routing__providers=["anthropic", "gemini"])
    names = {name for name, _ in kernel.pm.list_name_plugin()}
    assert {"openai", "anthropic", "gemini", "routing"} <= names
    assert kernel.providers() == ["anthropic", "gemini"]


def test_a_name_that_is_no_provider_is_refused_with_the_valid_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        kernel_with(tmp_path, routing__providers=["openai", "openia"])
    message = str(info.value)
    assert "routing.providers" in message and "'openia'" in message
    assert "valid choices: anthropic, azure-openai, gemini, openai" in message
    with pytest.raises(ConfigError, match=r"routing\.max_enqueued_tokens"):
        kernel_with(tmp_path, routing__max_enqueued_tokens={"cache-disk": 5})
    with pytest.raises(ConfigError, match="more than once"):
        kernel_with(tmp_path, routing__providers=["openai", "openai"])


def test_a_company_whose_providers_all_are_unavailable_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kernel = kernel_with(
        tmp_path, routing__providers=["openai", "anthropic"], anthropic__api_key=""
    )
    caplog.set_level(logging.WARNING, logger="batchkernel")
    companies = [Company("a", "A"), Company("b", "B", providers=("anthropic",))]
    assert calls.route_companies(kernel, companies) == {"a": "openai"}
    status = kernel.collect_status()["routing"]
    assert status == {
        "openai, anthropic": "openai",
        "anthropic": "anthropic config -> none (requests wait)",
    }
    assert "routing [anthropic]: new batches go to no provider" in caplog.text
    caplog.clear()
    assert calls.route_companies(kernel, companies) == {"a": "openai"}
    assert "routing [" not in caplog.text, "one warning per change, not per cycle"
    calls.route_companies(kernel, [Company("a", "A")])
    assert kernel.collect_status()["routing"] == {"openai, anthropic": "openai"}, (
        "a list no company has any more is not shown"
    )


def test_a_provider_a_company_names_that_is_not_configured_is_passed_over(tmp_path: Path) -> None:
    kernel = kernel_with(tmp_path, routing__providers=["openai"])
    company = Company("a", "A", providers=("gemini", "openai"))
    assert calls.route_companies(kernel, [company]) == {"a": "openai"}
    assert kernel.collect_status()["routing"]["gemini, openai"] == "gemini not_configured -> openai"


def test_banner_and_checks_name_every_configured_provider(tmp_path: Path) -> None:
    kernel = kernel_with(
        tmp_path, routing__providers=["openai", "anthropic"], anthropic__api_key=""
    )
    assert describe_setup(kernel)["routing"] == "openai, failover to anthropic"
    checks = {c.name: c for c in health_checks(kernel, remote=False)}
    assert checks["routing provider openai"].ok
    failing = checks["routing provider anthropic"]
    assert not failing.ok and not failing.blocking and "anthropic.api_key" in failing.detail
    single = kernel_with(tmp_path / "single")
    assert "routing" not in describe_setup(single)
    assert not [c for c in health_checks(single, remote=False) if c.name.startswith("routing")]


class Describer:
    """A provider plugin's banner line."""

    @hookimpl
    def describe_setup(self, kernel: KernelAPI) -> dict[str, str]:
        """Name itself."""
        return {"provider": "other at http://other.test (key set)"}


def test_the_banner_names_every_provider(tmp_path: Path) -> None:
    kernel = kernel_with(tmp_path, extra=[("other", Describer())])
    line = describe_setup(kernel)["provider"]
    assert line.startswith("openai at ") and line.endswith("; other at http://other.test (key set)")


class Sweeper:
    """A provider plugin whose sweep deletes ``count`` files."""

    def __init__(self, count: int) -> None:
        self.count = count

    @hookimpl
    def sweep_provider_files(self, kernel: KernelAPI, settled: Any) -> int:
        """Pretend to delete files."""
        return self.count


def test_every_registered_provider_sweeps_its_files(tmp_path: Path) -> None:
    kernel = kernel_with(
        tmp_path,
        extra=[("one", Sweeper(1)), ("two", Sweeper(2))],
        openai__file_retention="keep",
    )
    assert kernel.sweep_provider_files(lambda keys: set(keys)) == 3


def test_set_provider_from_the_command_line(
    make_kernel: Any, sqlite_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(sqlite_url)
    import_file(kernel, write_jsonl(tmp_path / "s.jsonl", 2, 4, seed=3))
    company = kernel.get_companies()[0].id
    env = cli_env(tmp_path, sqlite_url, BATCHKERNEL_ROUTING__PROVIDERS='["openai", "anthropic"]')
    done = batchkernel("companies", "set-provider", company, "anthropic", "openai", env=env)
    assert done.returncode == 0, done.stderr
    assert f"company {company} routes new batches to anthropic, openai" in done.stderr
    listed = batchkernel("companies", "list", env=env)
    assert "anthropic, openai" in next(
        line for line in listed.stdout.splitlines() if company in line
    )
    wrong = batchkernel("companies", "set-provider", company, "gemini", env=env)
    assert wrong.returncode == 1 and "'gemini' is not configured" in wrong.stderr
    assert batchkernel("companies", "set-provider", company, env=env).returncode == 2
    cleared = batchkernel("companies", "set-provider", company, "--clear", env=env)
    assert cleared.returncode == 0 and "routing.providers (openai, anthropic)" in cleared.stderr
    assert [c.providers for c in kernel.get_companies()] == [(), ()]


def test_a_request_queued_for_another_providers_model_runs_on_the_providers_own(
    tmp_path: Path,
) -> None:
    kernel = kernel_with(tmp_path, routing__providers=["openai", "anthropic", "gemini"])
    assert calls.request_encoder(kernel, "openai", "claude-haiku-4-5").model == "gpt-4o-mini"
    assert calls.request_encoder(kernel, "openai", "gemini-2.5-flash").model == "gpt-4o-mini"
    assert calls.request_encoder(kernel, "openai", "gpt-4.1").model == "gpt-4.1"
    assert calls.request_encoder(kernel, "anthropic", "gpt-4o-mini").model == "claude-haiku-4-5"
    assert calls.request_encoder(kernel, "gemini", "gpt-4o-mini").model == "gemini-2.5-flash"


def test_set_provider_has_help() -> None:
    result = CliRunner().invoke(build_app([]), ["companies", "set-provider", "--help"])
    assert result.exit_code == 0, result.output
    assert "--clear" in result.output and "primary first" in result.output


def test_cached_companies_keep_their_provider_lists() -> None:
    companies = [Company("a", "A", providers=("anthropic", "openai")), Company("b", "B")]
    stored = Entry.from_data(json.loads(json.dumps(Entry.of(1.0, companies).to_data())))
    assert stored is not None and stored.to_companies() == companies
    old_format = {"stored_at": 1.0, "companies": [["a", "A"]]}
    assert Entry.from_data(old_format) is None, "an entry of the old format is a miss"


def test_openai_and_azure_openai_together_show_both_in_the_status(tmp_path: Path) -> None:
    kernel = kernel_with(
        tmp_path,
        routing__providers=["openai", "azure-openai"],
        azure_openai__endpoint="https://example.openai.azure.com",
        azure_openai__api_key="azure-key",
        azure_openai__deployment="batch",
    )
    status = kernel.collect_status()
    assert set(status["provider_health"]) == {"openai", "azure-openai"}
    operations = set(status["breakers"])
    assert "create" in operations and "azure-openai create" in operations
