"""Requests, inputs and waiting helpers for the Gemini emulator tests."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import orjson
from google import genai
from google.genai import types

SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "sentiment": {"type": "STRING", "enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]},
        "summary": {"type": "STRING", "maxLength": 40},
        "score": {"type": "INTEGER", "minimum": 1, "maximum": 5},
        "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1},
    },
    "required": ["sentiment", "summary", "score", "tags"],
    "propertyOrdering": ["sentiment", "summary", "score", "tags"],
}
MODEL = "gemini-2.5-flash"
TERMINAL = {
    types.JobState.JOB_STATE_SUCCEEDED,
    types.JobState.JOB_STATE_FAILED,
    types.JobState.JOB_STATE_CANCELLED,
    types.JobState.JOB_STATE_EXPIRED,
}


def rest_request(text: str, **config: Any) -> dict[str, Any]:
    """A GenerateContentRequest in REST form (snake_case, as file lines may carry it)."""
    generation = {"response_mime_type": "application/json", "response_schema": SCHEMA, **config}
    return {
        "system_instruction": {"parts": [{"text": "Analyse the chat."}]},
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generation_config": generation,
    }


def inline(key: str, text: str, **config: Any) -> types.InlinedRequest:
    """An SDK InlinedRequest with a key in its metadata."""
    return types.InlinedRequest(
        contents=[types.Content(role="user", parts=[types.Part(text=text)])],
        metadata={"key": key},
        config=types.GenerateContentConfig(
            system_instruction="Analyse the chat.",
            response_mime_type="application/json",
            response_schema=SCHEMA,
            **config,
        ),
    )


def upload_lines(client: genai.Client, lines: list[dict[str, Any]] | bytes) -> types.File:
    """Upload JSONL through the SDK's resumable upload."""
    data = lines if isinstance(lines, bytes) else b"".join(orjson.dumps(x) + b"\n" for x in lines)
    return client.files.upload(
        file=io.BytesIO(data), config={"mime_type": "application/jsonl", "display_name": "in"}
    )


def file_lines(count: int, prefix: str = "k") -> list[dict[str, Any]]:
    """``count`` input lines keyed prefix0..prefixN."""
    return [
        {"key": f"{prefix}{i}", "request": rest_request(f"I am happy, thanks {i}")}
        for i in range(count)
    ]


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll until check() is truthy (generous deadline, no timing assertions)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def wait_done(client: genai.Client, name: str) -> types.BatchJob:
    """Poll a batch until it is terminal."""
    return wait_for(lambda: (job := client.batches.get(name=name)).state in TERMINAL and job)


def result_lines(client: genai.Client, job: types.BatchJob) -> list[dict[str, Any]]:
    """The parsed lines of a batch's responses file."""
    assert job.dest is not None and job.dest.file_name
    data = client.files.download(file=job.dest.file_name)
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def name_of(resource: types.BatchJob | types.File) -> str:
    """A created job's or file's name (the SDK types it optional; the API always sends it)."""
    assert resource.name, f"no name on {resource!r}"
    return resource.name


def results_file(job: types.BatchJob) -> str:
    """The name of a finished file batch's responses file."""
    assert job.dest is not None and job.dest.file_name, f"no responses file on {job.name}"
    return job.dest.file_name


def inlined(job: types.BatchJob) -> list[types.InlinedResponse]:
    """The inline responses of a finished inline batch."""
    assert job.dest is not None and job.dest.inlined_responses is not None
    return job.dest.inlined_responses


def answered(item: types.InlinedResponse) -> types.GenerateContentResponse:
    """The response of one inline result that succeeded."""
    assert item.response is not None, f"no response: {item.error}"
    return item.response


def first_candidate(response: types.GenerateContentResponse) -> types.Candidate:
    """The first candidate of a response."""
    assert response.candidates, "no candidates"
    return response.candidates[0]


def thoughts(response: types.GenerateContentResponse) -> int | None:
    """The thinking tokens a response reports."""
    assert response.usage_metadata is not None
    return response.usage_metadata.thoughts_token_count
