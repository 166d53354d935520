"""Injected faults as the google-genai SDK sees them: 429 with RetryInfo, 5xx, drops, lost
creates, validation failures, expiry with partial results, errored / missing / garbled /
unknown / duplicated lines, shuffled results, the enqueued-token limit, oversized payloads."""

from __future__ import annotations

import urllib.request

import orjson
import pytest
from google import genai
from google.genai import errors, types

from plugins.emulator_gemini import GeminiEmulatorServer

from .support import (
    MODEL,
    file_lines,
    inline,
    inlined,
    name_of,
    result_lines,
    results_file,
    upload_lines,
    wait_done,
)


def _raw_operation(server: GeminiEmulatorServer, name: str) -> dict:
    """The Operation as the API answers it (the SDK drops its ``error``)."""
    request = urllib.request.Request(
        f"{server.base_url}v1/{name}", headers={"x-goog-api-key": "test-key"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return orjson.loads(answer.read())


def test_429_carries_retry_info(client: genai.Client, server: GeminiEmulatorServer) -> None:
    job = client.batches.create(model=MODEL, src=[inline("a", "hi")])
    server.configure(first_429={"batches.get": 1}, retry_after_seconds=2)
    with pytest.raises(errors.ClientError) as info:
        client.batches.get(name=name_of(job))
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    details = info.value.details["error"]["details"]
    assert details == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]
    assert client.batches.get(name=name_of(job)).state == types.JobState.JOB_STATE_SUCCEEDED


def test_5xx_and_drops(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(first_500={"batches.list": 1})
    with pytest.raises(errors.ServerError) as info:
        list(client.batches.list())
    assert info.value.code == 500 and info.value.status == "INTERNAL"
    server.configure(first_500={"*": 1}, server_error_code=503)
    with pytest.raises(errors.ServerError) as info:
        list(client.batches.list())
    assert info.value.code == 503 and info.value.status == "UNAVAILABLE"
    server.configure(first_drop={"files.upload": 1})
    with pytest.raises(Exception) as dropped:
        upload_lines(client, file_lines(1))
    assert not isinstance(dropped.value, errors.APIError)
    assert upload_lines(client, file_lines(1)).name


def test_lost_create_leaves_a_batch_to_find(
    client: genai.Client, server: GeminiEmulatorServer
) -> None:
    server.configure(first_lost_create=1)
    with pytest.raises(Exception) as info:
        client.batches.create(
            model=MODEL, src=[inline("a", "hi")], config={"display_name": "bk-k1"}
        )
    assert not isinstance(info.value, errors.APIError)
    found = [job for job in client.batches.list() if job.display_name == "bk-k1"]
    assert len(found) == 1
    assert wait_done(client, found[0].name or "").state == types.JobState.JOB_STATE_SUCCEEDED
    ledger = server.ledger()
    assert ledger["batches"][0]["create_response_lost"] is True
    assert [f["fault"] for f in ledger["faults"]] == ["lost_create"]


def test_validation_failure(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(first_validation_failure=1)
    job = client.batches.create(model=MODEL, src=[inline("a", "hi")])
    done = wait_done(client, job.name or "")
    assert done.state == types.JobState.JOB_STATE_FAILED and done.dest is None
    operation = _raw_operation(server, job.name or "")
    assert operation["done"] is True and operation["error"]["code"] == 3
    bad = upload_lines(client, b'{"key": "a", "request": {"contents": []}}\nnot json\n')
    failed = wait_done(client, client.batches.create(model=MODEL, src=name_of(bad)).name or "")
    assert failed.state == types.JobState.JOB_STATE_FAILED
    message = _raw_operation(server, failed.name or "")["error"]["message"]
    assert "Line 2" in message


@pytest.mark.parametrize("keeps", [True, False])
def test_expiry_with_partial_results(
    client: genai.Client, server: GeminiEmulatorServer, keeps: bool
) -> None:
    server.configure(first_expire=1, expire_done_fraction=0.5, expired_keeps_results=keeps)
    uploaded = upload_lines(client, file_lines(10))
    done = wait_done(client, client.batches.create(model=MODEL, src=name_of(uploaded)).name or "")
    assert done.state == types.JobState.JOB_STATE_EXPIRED
    if keeps:
        assert [line["key"] for line in result_lines(client, done)] == [f"k{i}" for i in range(5)]
    else:
        assert done.dest is None


def test_errored_lines(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(rate_line_error=1.0, line_error_status=503)
    job = client.batches.create(model=MODEL, src=[inline("a", "hi"), inline("b", "yo")])
    done = wait_done(client, job.name or "")
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    for item in inlined(done):
        assert item.response is None and item.error is not None and item.error.code == 14
    stats = _raw_operation(server, job.name or "")["metadata"]["batchStats"]
    assert stats == {"requestCount": "2", "failedRequestCount": "2"}


def test_shuffled_results(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(shuffle_output=True)
    uploaded = upload_lines(client, file_lines(40))
    done = wait_done(client, client.batches.create(model=MODEL, src=name_of(uploaded)).name or "")
    keys = [line["key"] for line in result_lines(client, done)]
    assert sorted(keys) == sorted(f"k{i}" for i in range(40)) and keys != [
        f"k{i}" for i in range(40)
    ]


def test_broken_lines(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(
        rate_missing_lines=0.2,
        rate_garbage_lines=0.2,
        rate_unknown_id_lines=0.2,
        rate_duplicate_lines=0.2,
        seed=7,
    )
    uploaded = upload_lines(client, file_lines(60))
    done = wait_done(client, client.batches.create(model=MODEL, src=name_of(uploaded)).name or "")
    raw = client.files.download(file=results_file(done)).splitlines()
    parsed, garbled = [], 0
    for line in raw:
        try:
            parsed.append(orjson.loads(line)["key"])
        except orjson.JSONDecodeError:
            garbled += 1
    assert garbled > 0
    assert any(key.startswith("unknown-") for key in parsed)
    assert len(parsed) != len(set(parsed))
    assert len(set(parsed) - {k for k in parsed if k.startswith("unknown-")}) < 60


def test_enqueued_token_limit(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(enqueued_token_limits={MODEL: 200}, in_progress_seconds=3600)
    client.batches.create(model=MODEL, src=[inline("a", "hi")])
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model=MODEL, src=[inline(f"k{i}", "hi") for i in range(5)])
    assert info.value.code == 429
    assert info.value.details["error"]["details"][0]["@type"].endswith("QuotaFailure")


def test_inline_payload_limit(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(max_inline_bytes=2000)
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model=MODEL, src=[inline(f"k{i}", "hi") for i in range(20)])
    assert info.value.code == 400 and "payload size exceeds" in (info.value.message or "")
