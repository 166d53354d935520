"""The emulator as an Azure OpenAI resource, through the real SDK's ``AzureOpenAI`` client:
``/openai/files`` and ``/openai/batches`` with ``api-version`` and the ``api-key`` header, the
``/chat/completions`` batch endpoint, deployments, 14-to-30-day expiries and the error file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from plugins.emulator import AzureEmulatorServer
from tests.emulator.emulator_helpers import jsonl, parse_jsonl, request_line, wait_for

API_VERSION = "2024-10-21"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


@pytest.fixture
def azure() -> Iterator[AzureEmulatorServer]:
    """An emulator that only accepts the key ``azure-key``."""
    with AzureEmulatorServer({"api_key": "azure-key"}) as server:
        yield server


@pytest.fixture
def client(azure: AzureEmulatorServer) -> Iterator[openai.AzureOpenAI]:
    """The SDK's Azure client pointed at the emulator, no retries."""
    sdk = openai.AzureOpenAI(
        azure_endpoint=azure.base_url,
        api_key="azure-key",
        api_version=API_VERSION,
        max_retries=0,
        timeout=10,
    )
    yield sdk
    sdk.close()


def _submit(client: openai.AzureOpenAI, lines: list[dict[str, Any]], **create: Any) -> Any:
    """Upload the lines and create a ``/chat/completions`` batch."""
    uploaded = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/chat/completions",  # type: ignore[arg-type]  # Azure's path, not in the SDK's literal
        completion_window="24h",
        **create,
    )


def _lines(count: int, model: str = "my-global-batch") -> list[dict[str, Any]]:
    """Azure batch lines: ``url`` is ``/chat/completions`` and ``model`` names a deployment."""
    return [request_line(f"r{i}", model=model, url="/chat/completions") for i in range(count)]


def test_batch_lifecycle_on_azure_paths(
    client: openai.AzureOpenAI, azure: AzureEmulatorServer
) -> None:
    batch = _submit(client, _lines(3), metadata={"k": "v"})
    done = wait_for(client, batch.id, TERMINAL)
    assert done.status == "completed" and done.model == "my-global-batch"
    assert done.metadata == {"k": "v"}
    output = parse_jsonl(client.files.content(done.output_file_id).text)
    assert sorted(line["custom_id"] for line in output) == ["r0", "r1", "r2"]
    assert done.error_file_id, "Azure publishes an error file even when nothing failed"
    assert client.files.content(done.error_file_id).content == b""
    assert [b.id for b in client.batches.list()] == [batch.id]


def test_api_version_and_key_are_required(azure: AzureEmulatorServer) -> None:
    root = azure.base_url
    missing_version = httpx2.get(f"{root}/openai/batches", headers={"api-key": "azure-key"})
    assert missing_version.status_code == 404
    wrong_key = httpx2.get(
        f"{root}/openai/batches", params={"api-version": API_VERSION}, headers={"api-key": "x"}
    )
    assert wrong_key.status_code == 401
    bearer = httpx2.get(
        f"{root}/openai/batches",
        params={"api-version": API_VERSION},
        headers={"Authorization": "Bearer azure-key"},
    )
    assert bearer.status_code == 200


def test_openai_endpoint_and_short_expiry_are_refused(client: openai.AzureOpenAI) -> None:
    uploaded = client.files.create(file=("in.jsonl", jsonl(_lines(1))), purpose="batch")
    with pytest.raises(openai.BadRequestError) as info:
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert info.value.code == "invalid_value"
    with pytest.raises(openai.BadRequestError):
        client.files.create(
            file=("in.jsonl", jsonl(_lines(1))),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )


def test_unknown_deployment_fails_validation(
    client: openai.AzureOpenAI, azure: AzureEmulatorServer
) -> None:
    azure.configure(azure_deployments=["my-global-batch"])
    done = wait_for(client, _submit(client, _lines(2, model="gpt-4o")).id, TERMINAL)
    assert done.status == "failed" and done.errors and done.errors.data
    assert done.errors.data[0].code == "model_not_found"
    ok = wait_for(client, _submit(client, _lines(2)).id, TERMINAL)
    assert ok.status == "completed"
