"""The anthropic provider's upkeep hooks through the real SDK against the Anthropic emulator:
``doctor``/``run`` checks, the banner line, and the sweep of ended batches of ours (SQLite and
PostgreSQL hold the local batches it ties them to)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kernel.types import BatchStatus
from plugins.anthropic_provider import AnthropicProvider
from plugins.common.healthchecks import health_checks
from plugins.common.schema.models import AIBatchRequest, Company
from plugins.core_commands.run import describe_setup
from plugins.emulator_anthropic import AnthropicEmulatorServer
from tests.cli.support import closed_port
from tests.provider_anthropic.support import plan_of

KEY = "sk-ant-upkeep"


@pytest.fixture
def server() -> Iterator[AnthropicEmulatorServer]:
    """The emulator with an API key and the instant lifecycle."""
    with AnthropicEmulatorServer({"api_key": KEY}) as emulator:
        yield emulator


def _kernel(make_kernel: Any, url: str, base_url: str, **overrides: Any) -> Any:
    """A kernel whose anthropic provider points at ``base_url``."""
    settings = {
        "plugins__provider": "anthropic",
        "anthropic__base_url": base_url,
        "anthropic__api_key": KEY,
        "anthropic__max_retries": 0,
    }
    return make_kernel(url, **{**settings, **overrides})


def _checks(kernel: Any, remote: bool = True) -> dict[str, Any]:
    """The kernel's provider checks by name."""
    checks = health_checks(kernel, remote=remote)
    return {check.name: check for check in checks if check.name.startswith("provider")}


def test_checks_pass_on_a_ready_endpoint(
    make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer
) -> None:
    kernel = _kernel(make_kernel, sqlite_url, server.base_url)
    checks = _checks(kernel)
    assert [checks[n].ok for n in ("provider key", "provider reachable", "provider model")] == [
        True
    ] * 3, checks
    assert server.base_url in checks["provider reachable"].detail
    assert "claude-haiku-4-5" in checks["provider model"].detail
    banner = describe_setup(kernel)["provider"]
    assert banner == f"anthropic at {server.base_url} (model claude-haiku-4-5, key set)"
    assert KEY not in banner


def test_checks_name_each_problem_and_its_fix(
    make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer
) -> None:
    unknown = _checks(_kernel(make_kernel, sqlite_url, server.base_url, anthropic__model="gpt-4o"))
    assert unknown["provider reachable"].ok and not unknown["provider model"].ok
    assert "does not know model 'gpt-4o'" in unknown["provider model"].detail
    assert "anthropic.model" in unknown["provider model"].fix

    refused = _checks(
        _kernel(make_kernel, sqlite_url, server.base_url, anthropic__api_key="sk-ant-wrong")
    )
    assert not refused["provider reachable"].ok and "provider model" not in refused
    assert "refused the API key" in refused["provider reachable"].detail
    assert "ANTHROPIC_API_KEY" in refused["provider reachable"].fix
    assert "sk-ant-wrong" not in str(refused)

    url = f"http://127.0.0.1:{closed_port()}"
    down = _checks(_kernel(make_kernel, sqlite_url, url))
    assert f"cannot reach {url}" in down["provider reachable"].detail
    assert "anthropic.base_url" in down["provider reachable"].fix

    keyless = _kernel(make_kernel, sqlite_url, url, anthropic__api_key="")
    (only,) = _checks(keyless).values()
    assert (only.name, only.ok) == ("provider key", False)
    assert "ANTHROPIC_API_KEY" in only.fix
    assert "no key" in describe_setup(keyless)["provider"]
    assert list(_checks(_kernel(make_kernel, sqlite_url, url), remote=False)) == ["provider key"]


def _record(kernel: Any, rows: Sequence[tuple[str, str | None, BatchStatus]]) -> None:
    """Local batches (submission key, provider batch id, status) of company c1."""
    with kernel.db.transaction() as session:
        if session.get(Company, "c1") is None:
            session.add(Company(id="c1", name="c1"))
            session.flush()
        for key, provider_id, status in rows:
            session.add(
                AIBatchRequest(
                    company_id="c1",
                    model="claude-haiku-4-5",
                    processing_type="probe",
                    status=status.value,
                    submission_key=key,
                    provider_batch_id=provider_id,
                    provider="anthropic",
                )
            )


def _settled(kernel: Any) -> Any:
    """The kernel's own question: which keys belong to batches that are over."""
    from plugins.common.schema.queries import settled_submission_keys

    return lambda keys: settled_submission_keys(kernel.db, keys)


def test_sweep_deletes_ended_batches_of_ours_that_are_over(
    make_kernel: Any, db_url: str, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    kernel = _kernel(make_kernel, db_url, server.base_url, anthropic__sweep_interval_seconds=0)
    creator = AnthropicProvider()
    made = {}
    for name in ("applied", "unapplied", "lost", "foreign", "kept"):
        key = f"bk_{name}_{uuid.uuid4().hex[:12]}"
        made[name] = (key, creator.submit_batch(kernel, plan_of(kernel, creator, tmp_path, 2, key)))
    ids = {name: sub.provider_batch_id for name, (_, sub) in made.items()}
    _record(
        kernel,
        [
            (made["applied"][0], ids["applied"], BatchStatus.APPLIED),
            (made["unapplied"][0], ids["unapplied"], BatchStatus.COMPLETED),
            (made["lost"][0], None, BatchStatus.ABANDONED),
            (made["kept"][0], None, BatchStatus.IN_PROGRESS),
        ],
    )
    sweeper = AnthropicProvider()
    sweeper.page_size = 2
    assert sweeper.sweep_provider_files(kernel, _settled(kernel)) == 2
    ledger = {b["id"]: b["deleted"] for b in server.ledger()["batches"]}
    assert ledger == {
        ids["applied"]: True,
        ids["lost"]: True,
        ids["unapplied"]: False,
        ids["foreign"]: False,
        ids["kept"]: False,
    }
    assert sweeper.sweep_provider_files(kernel, _settled(kernel)) == 0


def test_sweep_keeps_batches_with_keep_and_within_its_interval(
    make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    kernel = _kernel(make_kernel, sqlite_url, server.base_url)
    now = [1000.0]
    provider = AnthropicProvider(clock=lambda: now[0])
    keys = [f"bk_sweep_{index}" for index in range(2)]
    first = provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 2, keys[0]))
    _record(kernel, [(keys[0], first.provider_batch_id, BatchStatus.APPLIED)])
    kernel.settings.set("anthropic.batch_retention", "keep")
    assert provider.sweep_provider_files(kernel, _settled(kernel)) == 0
    kernel.settings.set("anthropic.batch_retention", "delete")
    assert provider.sweep_provider_files(kernel, _settled(kernel)) == 1
    second = provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 2, keys[1]))
    _record(kernel, [(keys[1], second.provider_batch_id, BatchStatus.APPLIED)])
    now[0] += 60
    assert provider.sweep_provider_files(kernel, _settled(kernel)) == 0, "within the interval"
    now[0] += 3600
    assert provider.sweep_provider_files(kernel, _settled(kernel)) == 1


def test_sweep_never_raises(make_kernel: Any, sqlite_url: str) -> None:
    kernel = _kernel(make_kernel, sqlite_url, f"http://127.0.0.1:{closed_port()}")
    assert AnthropicProvider().sweep_provider_files(kernel, _settled(kernel)) == 0


@pytest.mark.parametrize(
    ("status", "error", "message", "kind"),
    [
        (429, "rate_limit_error", "Number of requests has exceeded your rate limit", "busy"),
        (529, "overloaded_error", "Overloaded", "busy"),
        (400, "billing_error", "Your credit balance is too low", "other"),
        (429, "rate_limit_error", "Your credit balance is too low to access the API", "other"),
    ],
)
def test_a_billing_refusal_stops_run_and_a_busy_answer_does_not(
    status: int, error: str, message: str, kind: str
) -> None:
    """The SDK's own error for each answer: only a passing one (rate limit, overloaded) is
    ``busy``; a billing refusal lasts until the account is topped up, even as a 429."""
    import anthropic
    import httpx2

    from plugins.anthropic_provider.health import explain

    body = {"type": "error", "error": {"type": error, "message": message}}
    request = httpx2.Request("GET", "http://127.0.0.1/v1/messages/batches")
    response = httpx2.Response(status, request=request, json=body)
    assert explain(anthropic.APIStatusError(message, response=response, body=body))[0] == kind
