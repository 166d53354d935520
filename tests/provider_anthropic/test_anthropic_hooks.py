"""The anthropic provider's hooks one by one, on a real kernel, through the real SDK against the
Anthropic emulator: encoding, submission, adoption, cancel, results, cleanup, health."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from kernel.types import BatchPlan, BatchStatus, LocalBatch, ProviderError
from plugins.anthropic_provider import AnthropicProvider
from plugins.emulator_anthropic import AnthropicEmulatorServer
from tests.provider_anthropic.support import SCHEMA, plan_of


@pytest.fixture
def server() -> Iterator[AnthropicEmulatorServer]:
    """The emulator with an API key."""
    with AnthropicEmulatorServer({"api_key": "sk-ant-hooks"}) as emulator:
        yield emulator


@pytest.fixture
def kernel(make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer) -> Any:
    """A kernel whose provider settings point at the emulator."""
    return make_kernel(
        sqlite_url,
        plugins__provider="anthropic",
        anthropic__base_url=server.base_url,
        anthropic__api_key="sk-ant-hooks",
        anthropic__max_retries=2,
    )


def _local(plan: BatchPlan, provider_batch_id: str) -> LocalBatch:
    """The local batch of a submitted plan."""
    return LocalBatch(
        batch_id=plan.batch_id,
        company_id=plan.company_id,
        status=BatchStatus.IN_PROGRESS,
        submission_key=plan.submission_key,
        provider_batch_id=provider_batch_id,
        provider="anthropic",
    )


def _until(check: Any, timeout: float = 30) -> Any:
    """Wait for ``check()`` to be truthy (generous deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_answers_only_for_its_own_name(kernel: Any) -> None:
    provider = AnthropicProvider()
    assert provider.provider_limits(kernel, "openai") is None
    assert provider.request_encoder(kernel, "openai", "gpt-4o-mini") is None
    limits = provider.provider_limits(kernel, "anthropic")
    assert limits is not None and limits.max_requests == 100_000
    assert limits.custom_id_max_length == 53


@pytest.mark.parametrize("mode", ["json_schema", "tool"])
def test_both_structured_output_modes_round_trip(
    make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer, tmp_path: Path, mode: str
) -> None:
    kernel = make_kernel(
        sqlite_url,
        plugins__provider="anthropic",
        anthropic__base_url=server.base_url,
        anthropic__api_key="sk-ant-hooks",
        anthropic__structured_output=mode,
    )
    provider = AnthropicProvider()
    plan = plan_of(kernel, provider, tmp_path, 3)
    record = orjson.loads(plan.input_path.read_bytes().splitlines()[0])
    params = record["params"]
    assert "temperature" not in params
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    if mode == "tool":
        assert params["tool_choice"] == {"type": "tool", "name": "sentiment"}
    else:
        assert params["output_config"]["format"]["schema"] == SCHEMA
    submitted = provider.submit_batch(kernel, plan)
    assert submitted is not None
    batch = _local(plan, submitted.provider_batch_id)
    assert provider.poll_batch(kernel, batch).status == "completed"
    files = provider.download_results(kernel, batch, tmp_path)
    results = list(provider.read_results(kernel, batch, files))
    ids = {orjson.loads(line)["custom_id"] for line in plan.input_path.read_bytes().splitlines()}
    assert {r.custom_id for r in results} == ids
    for result in results:
        assert result.kind == "success" and result.finish_reason == "stop"
        assert orjson.loads(result.text) == {"sentiment": "NEGATIVE"}
        assert result.usage.input > 0 and result.usage.output > 0
    assert provider.cleanup_batch(kernel, batch) is True
    assert server.ledger()["batches"][0]["deleted"]


def test_cancel_requeues_what_did_not_run(
    kernel: Any, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    server.configure(in_progress_seconds=3600)
    provider = AnthropicProvider()
    plan = plan_of(kernel, provider, tmp_path, 4)
    submitted = provider.submit_batch(kernel, plan)
    batch = _local(plan, submitted.provider_batch_id)
    assert provider.poll_batch(kernel, batch).status == "in_progress"
    assert provider.cancel_batch(kernel, batch).status in ("cancelling", "cancelled")
    assert _until(lambda: provider.poll_batch(kernel, batch).status == "cancelled")
    assert provider.cancel_batch(kernel, batch).status == "cancelled", "an ended batch as it is"
    files = provider.download_results(kernel, batch, tmp_path)
    assert {r.kind for r in provider.read_results(kernel, batch, files)} == {"requeue"}


def test_lost_create_is_adopted_once_it_has_ended(
    kernel: Any, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    provider = AnthropicProvider()
    server.configure(first_lost_create=1, in_progress_seconds=3600)
    plan = plan_of(kernel, provider, tmp_path, 2)
    with pytest.raises(ProviderError) as unknown:
        provider.submit_batch(kernel, plan)
    assert unknown.value.retryable
    with pytest.raises(ProviderError, match="running batch"):
        provider.find_batch(kernel, plan)
    with pytest.raises(ProviderError, match="earlier create may have succeeded"):
        provider.submit_batch(kernel, plan)
    server.configure(in_progress_seconds=0)
    (lost,) = server.ledger()["batches"]
    found = provider.find_batch(kernel, plan)
    assert found is not None and found.provider_batch_id == lost["id"]
    again = provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 2))
    assert again is not None and len(server.ledger()["batches"]) == 2


def test_a_plan_never_created_is_not_found(kernel: Any, tmp_path: Path) -> None:
    provider = AnthropicProvider()
    other = plan_of(kernel, provider, tmp_path, 2)
    provider.submit_batch(kernel, other)
    assert provider.find_batch(kernel, plan_of(kernel, provider, tmp_path, 2)) is None


def test_429_and_529_at_create_wait_and_retry(
    kernel: Any, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    waits: list[float] = []
    provider = AnthropicProvider(sleep=waits.append)
    server.configure(first_429={"batches.create": 1}, first_529={"batches.create": 1})
    provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 1))
    assert len(waits) == 2 and waits[0] == 1.0, "the 429 waits its retry-after"
    assert len(server.ledger()["batches"]) == 1


def test_exhausted_credit_is_a_quota_condition(
    kernel: Any, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    provider = AnthropicProvider()
    server.configure(credit_exhausted=True)
    with pytest.raises(ProviderError) as refused:
        provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 1))
    assert refused.value.condition == "quota" and not refused.value.retryable
    health = provider.provider_health(kernel, "anthropic")
    assert health is not None and health.condition == "quota" and health.until is not None
    server.configure(credit_exhausted=False)
    with pytest.raises(ProviderError, match="cool-down"):
        provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 1))
    assert server.ledger()["batches"] == []


def test_wrong_key_is_a_config_condition(
    make_kernel: Any, sqlite_url: str, server: AnthropicEmulatorServer, tmp_path: Path
) -> None:
    kernel = make_kernel(
        sqlite_url,
        plugins__provider="anthropic",
        anthropic__base_url=server.base_url,
        anthropic__api_key="sk-ant-wrong",
    )
    provider = AnthropicProvider()
    with pytest.raises(ProviderError) as refused:
        provider.submit_batch(kernel, plan_of(kernel, provider, tmp_path, 1))
    assert refused.value.condition == "config"
    assert "sk-ant-wrong" not in str(refused.value)
    health = provider.provider_health(kernel, "anthropic")
    assert health is not None and health.condition == "ok"
