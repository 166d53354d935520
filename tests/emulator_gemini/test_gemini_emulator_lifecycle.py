"""The Gemini emulator through the real google-genai SDK: inline and file batches, states,
schema-conforming answers, usage, listing, cancel and delete."""

from __future__ import annotations

import orjson
import pytest
from google import genai
from google.genai import errors, types

from plugins.emulator_gemini import GeminiEmulatorServer

from .support import (
    MODEL,
    answered,
    file_lines,
    first_candidate,
    inline,
    inlined,
    name_of,
    rest_request,
    result_lines,
    thoughts,
    upload_lines,
    wait_done,
    wait_for,
)


def _conforms(answer: dict) -> None:
    """The answer matches the test schema (enum, lengths, bounds, items)."""
    assert list(answer) == ["sentiment", "summary", "score", "tags"]
    assert answer["sentiment"] in {"POSITIVE", "NEGATIVE", "NEUTRAL"}
    assert isinstance(answer["summary"], str) and len(answer["summary"]) <= 40
    assert isinstance(answer["score"], int) and 1 <= answer["score"] <= 5
    assert isinstance(answer["tags"], list) and len(answer["tags"]) >= 1


def test_inline_batch_end_to_end(client: genai.Client) -> None:
    requests = [inline(f"req-{i}", f"I am angry about my salary, attempt {i}") for i in range(5)]
    job = client.batches.create(model=MODEL, src=requests, config={"display_name": "bk-inline"})
    assert job.name and job.name.startswith("batches/")
    assert job.display_name == "bk-inline" and job.model == f"models/{MODEL}"
    done = wait_done(client, job.name)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest is not None and done.dest.inlined_responses is not None
    keys = [r.metadata["key"] for r in done.dest.inlined_responses if r.metadata]
    assert keys == [f"req-{i}" for i in range(5)]
    for item in done.dest.inlined_responses:
        assert item.response is not None and item.error is None
        answer = orjson.loads(item.response.text or "")
        _conforms(answer)
        assert answer["sentiment"] == "NEGATIVE"
        usage = item.response.usage_metadata
        assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
        assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
        assert first_candidate(item.response).finish_reason == types.FinishReason.STOP


def test_file_batch_end_to_end(client: genai.Client, server: GeminiEmulatorServer) -> None:
    uploaded = upload_lines(client, file_lines(20))
    assert uploaded.name and uploaded.source == types.FileSource.UPLOADED
    assert uploaded.size_bytes and uploaded.state == types.FileState.ACTIVE
    job = client.batches.create(model=MODEL, src=uploaded.name, config={"display_name": "bk-f"})
    done = wait_done(client, job.name or "")
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.dest is not None and done.dest.file_name == f"files/batch-{name_of(job)[8:]}"
    lines = result_lines(client, done)
    assert [line["key"] for line in lines] == [f"k{i}" for i in range(20)]
    for line in lines:
        _conforms(orjson.loads(line["response"]["candidates"][0]["content"]["parts"][0]["text"]))
    results = client.files.get(name=done.dest.file_name)
    assert results.source == types.FileSource.GENERATED and results.download_uri
    with pytest.raises(errors.ClientError):
        client.files.download(file=uploaded.name)
    client.files.delete(name=uploaded.name)
    with pytest.raises(errors.ClientError) as info:
        client.files.get(name=uploaded.name)
    assert info.value.code == 403


def test_states_progress_and_listing(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(validating_seconds=3600)
    names = [
        name_of(
            client.batches.create(
                model=MODEL, src=[inline("a", "hi")], config={"display_name": f"b{i}"}
            )
        )
        for i in range(5)
    ]
    assert client.batches.get(name=names[0]).state == types.JobState.JOB_STATE_PENDING
    pager = client.batches.list(config={"page_size": 2})
    assert pager.page_size == 2 and len(pager.page) == 2
    listed = [job.name for job in pager]
    assert listed == list(reversed(names))
    server.configure(validating_seconds=0, in_progress_seconds=3600)
    assert client.batches.get(name=names[0]).state == types.JobState.JOB_STATE_RUNNING
    server.configure(in_progress_seconds=0)
    assert client.batches.get(name=names[-1]).state == types.JobState.JOB_STATE_SUCCEEDED


def test_cancel_and_delete(client: genai.Client, server: GeminiEmulatorServer) -> None:
    server.configure(in_progress_seconds=3600)
    name = name_of(client.batches.create(model=MODEL, src=[inline("a", "hi"), inline("b", "hey")]))
    wait_for(lambda: client.batches.get(name=name).state == types.JobState.JOB_STATE_RUNNING)
    client.batches.cancel(name=name)
    done = wait_done(client, name)
    assert done.state == types.JobState.JOB_STATE_CANCELLED
    with pytest.raises(errors.ClientError) as info:
        client.batches.cancel(name=name)
    assert info.value.status == "FAILED_PRECONDITION"
    client.batches.delete(name=name)
    with pytest.raises(errors.ClientError) as info:
        client.batches.get(name=name)
    assert info.value.code == 404
    assert name not in [j.name for j in client.batches.list()]
    ledger = server.ledger()
    assert ledger["batches"][0]["deleted"] and ledger["batches"][0]["state"].endswith("CANCELLED")


def test_thinking_tokens_count_against_the_output_limit(
    client: genai.Client, server: GeminiEmulatorServer
) -> None:
    server.configure(thoughts_tokens=50)
    job = client.batches.create(
        model=MODEL,
        src=[inline("short", "hello", max_output_tokens=40), inline("roomy", "hello")],
    )
    done = wait_done(client, job.name or "")
    short, roomy = (answered(item) for item in inlined(done))
    assert first_candidate(short).finish_reason == types.FinishReason.MAX_TOKENS
    assert short.text is None
    assert thoughts(short) == 40
    assert thoughts(roomy) == 50
    _conforms(orjson.loads(roomy.text or ""))


def test_json_schema_and_per_request_errors(client: genai.Client) -> None:
    json_schema = {
        "type": "object",
        "properties": {
            "label": {"$ref": "#/$defs/label"},
            "note": {"type": ["string", "null"]},
        },
        "required": ["label", "note"],
        "$defs": {"label": {"type": "string", "enum": ["A", "B"]}},
    }
    good = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": json_schema,
        },
    }
    bad_role = rest_request("x")
    bad_role["contents"][0]["role"] = "assistant"
    no_mime = rest_request("x", response_mime_type="text/plain")
    uploaded = upload_lines(
        client,
        [
            {"key": "good", "request": good},
            {"key": "bad-role", "request": bad_role},
            {"key": "no-mime", "request": no_mime},
        ],
    )
    done = wait_done(client, name_of(client.batches.create(model=MODEL, src=name_of(uploaded))))
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    by_key = {line["key"]: line for line in result_lines(client, done)}
    answer = orjson.loads(
        by_key["good"]["response"]["candidates"][0]["content"]["parts"][0]["text"]
    )
    assert answer["label"] in ("A", "B") and "note" in answer
    assert by_key["bad-role"]["error"]["code"] == 3
    assert "role" in by_key["bad-role"]["error"]["message"]
    assert by_key["no-mime"]["error"]["code"] == 3


def test_unknown_schema_field_refused_at_create(client: genai.Client) -> None:
    request = rest_request("x")
    request["generation_config"]["response_schema"]["additionalProperties"] = False
    with pytest.raises(errors.ClientError) as info:
        client._api_client.request(  # the SDK itself would drop the unknown field
            "post",
            f"models/{MODEL}:batchGenerateContent",
            {"batch": {"inputConfig": {"requests": {"requests": [{"request": request}]}}}},
        )
    assert info.value.code == 400 and "additionalProperties" in (info.value.message or "")


def test_api_key_checked(server: GeminiEmulatorServer) -> None:
    server.configure(api_key="right")
    wrong = genai.Client(api_key="wrong", http_options={"base_url": server.base_url})
    with pytest.raises(errors.ClientError) as info:
        list(wrong.batches.list())
    assert info.value.code == 400 and "API key not valid" in (info.value.message or "")
    right = genai.Client(api_key="right", http_options={"base_url": server.base_url})
    assert list(right.batches.list()) == []
