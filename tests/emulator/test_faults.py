"""Injected faults as the SDK sees them: 429, 500, drops, timeouts, lost creates, 404, auth."""

from __future__ import annotations

import urllib.error
import urllib.request

import openai
import orjson
import pytest

from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.emulator.emulator_helpers import TERMINAL, request_line, wait_for


def _sdk(server: EmulatorServer, **options) -> openai.OpenAI:
    """Another client on the same server with different retry/timeout options."""
    return openai.OpenAI(base_url=server.base_url, api_key="test", **options)


def test_429_with_retry_after(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    created = submit([request_line("a")])
    server.configure(first_429={"batches.retrieve": 1}, retry_after_seconds=0.05)
    with pytest.raises(openai.RateLimitError) as info:
        client.batches.retrieve(created.id)
    headers = info.value.response.headers
    assert headers["retry-after"] == "1" and headers["retry-after-ms"] == "50"
    assert info.value.code == "rate_limit_exceeded"
    assert client.batches.retrieve(created.id).status == "completed"

    server.configure(first_429={"batches.retrieve": 1, "files.list": 0})
    with _sdk(server, max_retries=1) as retrying:
        assert retrying.batches.retrieve(created.id).status == "completed"
    faults = [f["fault"] for f in server.ledger()["faults"]]
    assert faults == ["429", "429"]


def test_500_and_wildcard(client: openai.OpenAI, server: EmulatorServer) -> None:
    server.configure(first_500={"*": 2})
    with pytest.raises(openai.InternalServerError):
        client.files.list()
    with pytest.raises(openai.InternalServerError):
        client.batches.list()
    assert client.batches.list().data == []


def test_dropped_connection(client: openai.OpenAI, server: EmulatorServer) -> None:
    server.configure(first_drop={"files.create": 1})
    with pytest.raises(openai.APIConnectionError):
        client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
    assert client.files.list().data == []
    assert client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch").id


def test_lost_create_response(client: openai.OpenAI, server: EmulatorServer) -> None:
    uploaded = client.files.create(
        file=("in.jsonl", orjson.dumps(request_line("z")) + b"\n"), purpose="batch"
    )
    server.configure(first_lost_create=1)
    with pytest.raises(openai.APIConnectionError):
        client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"intent": "abc-123"},
        )
    [entry] = server.ledger()["batches"]
    assert entry["create_response_lost"] is True
    assert entry["metadata"] == {"intent": "abc-123"}
    assert entry["custom_ids"] == ["z"]
    [listed] = client.batches.list().data
    assert listed.id == entry["id"] and listed.metadata == {"intent": "abc-123"}


def test_slow_response_times_out(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    created = submit([request_line("slow")])
    server.configure(first_slow={"batches.retrieve": 1}, slow_seconds=1.0)
    with _sdk(server, max_retries=0, timeout=0.3) as impatient:
        with pytest.raises(openai.APITimeoutError):
            impatient.batches.retrieve(created.id)
        assert impatient.batches.retrieve(created.id).status == "completed"


def test_content_404_then_ok(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    batch = wait_for(client, submit([request_line("c")]).id, TERMINAL)
    server.configure(first_404={"files.content": 1})
    with pytest.raises(openai.NotFoundError):
        client.files.content(batch.output_file_id)
    assert client.files.content(batch.output_file_id).text


def test_latency(client: openai.OpenAI, server: EmulatorServer) -> None:
    server.configure(latency_ms=150)
    with (
        _sdk(server, max_retries=0, timeout=0.05) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.files.list()
    server.configure(latency_ms=0)
    assert client.files.list().data == []


def test_validation_failure_fault(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(first_validation_failure=1)
    failed = wait_for(client, submit([request_line("v")]).id, TERMINAL)
    assert failed.status == "failed" and failed.errors.data
    assert wait_for(client, submit([request_line("v")]).id, TERMINAL).status == "completed"


def test_chaos_rates_are_reproducible() -> None:
    def run() -> list[str]:
        config = EmulatorConfig(seed=42, rate_500=0.5, chaos_operations=("files.list",))
        with EmulatorServer(config) as server, _sdk(server, max_retries=0) as sdk:
            outcomes = []
            for _ in range(12):
                try:
                    sdk.files.list()
                    outcomes.append("ok")
                except openai.InternalServerError:
                    outcomes.append("500")
                sdk.batches.list()
            return outcomes

    first = run()
    assert "ok" in first and "500" in first and run() == first


def test_auth() -> None:
    with EmulatorServer({"api_key": "secret"}) as server:
        with (
            _sdk(server, max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError) as info,
        ):
            wrong.batches.list()
        assert info.value.code == "invalid_api_key"
        with openai.OpenAI(base_url=server.base_url, api_key="secret", max_retries=0) as right:
            assert right.batches.list().data == []
        request = urllib.request.Request(server.base_url + "/batches")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(request, timeout=5)
        with missing.value:
            assert missing.value.code == 401


def test_runtime_reconfiguration_over_http(client: openai.OpenAI, server: EmulatorServer) -> None:
    admin = server.base_url.removesuffix("/v1") + "/_emulator/config"

    def post(payload: dict) -> dict:
        request = urllib.request.Request(
            admin,
            data=orjson.dumps(payload),
            method="POST",
            headers={"Authorization": "Bearer test"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return orjson.loads(response.read())

    assert post({"rate_500": 1.0})["rate_500"] == 1.0
    with pytest.raises(openai.InternalServerError):
        client.files.list()
    post({"rate_500": 0})
    assert client.files.list().data == []
    with pytest.raises(urllib.error.HTTPError) as info:
        post({"no_such_key": 1})
    with info.value:
        assert info.value.code == 400
        assert "no_such_key" in orjson.loads(info.value.read())["error"]["message"]
    assert server.config.rate_500 == 0.0

    ledger_url = server.base_url.removesuffix("/v1") + "/_emulator/ledger"
    with urllib.request.urlopen(ledger_url, timeout=5) as response:
        assert set(orjson.loads(response.read())) == {"files", "batches", "faults"}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"bogus.*valid keys.*seed"):
        EmulatorConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="rate_429"):
        EmulatorConfig(rate_429=1.5)
    with pytest.raises(ValueError, match="unknown operation"):
        EmulatorConfig.from_dict({"first_500": {"batches.delete": 1}})
    config = EmulatorConfig.from_dict({"latency_ms": "5", "shuffle_output": "false", "seed": 3})
    assert config.latency_ms == 5.0 and config.shuffle_output is False
    assert EmulatorConfig.from_dict(config.to_dict()) == config
