"""Finding a lost create's batch by the tag on its custom ids, through the real SDK and the
Anthropic emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from plugins.anthropic_provider.customids import MAX_LOCAL_LENGTH, split, tag_of, wire_id
from plugins.anthropic_provider.lookup import find_tagged, first_tag_of_lines
from plugins.emulator_anthropic import AnthropicEmulatorServer

KEY = "bk_" + "a" * 32
OTHER = "bk_" + "b" * 32


@pytest.fixture
def server() -> Iterator[AnthropicEmulatorServer]:
    """An emulator whose batches end at once."""
    with AnthropicEmulatorServer() as emulator:
        yield emulator


@pytest.fixture
def client(server: AnthropicEmulatorServer) -> Iterator[anthropic.Anthropic]:
    """The real SDK without retries."""
    sdk = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
    yield sdk
    sdk.close()


def _requests(key: str, count: int) -> list[Any]:
    """``count`` tagged requests of the plan with submission key ``key``."""
    params = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    return [{"custom_id": wire_id(tag_of(key), f"req-{i}"), "params": params} for i in range(count)]


def _find(client: anthropic.Anthropic, key: str, count: int, **kwargs: Any) -> Any:
    """find_tagged over the emulator's list, reading first tags from real results."""

    def first_tag(batch_id: str) -> str | None:
        with client.messages.batches.with_streaming_response.results(batch_id) as response:
            return first_tag_of_lines(response.iter_lines())

    return find_tagged(
        client.messages.batches.list(limit=2), tag_of(key), count, None, first_tag, **kwargs
    )


def test_tags_round_trip_and_fit_the_pattern() -> None:
    tag = tag_of(KEY)
    assert len(tag) == 10 and tag == tag_of(KEY) and tag != tag_of(OTHER)
    wire = wire_id(tag, "x" * MAX_LOCAL_LENGTH)
    assert len(wire) == 64 and split(wire) == (tag, "x" * MAX_LOCAL_LENGTH)
    with pytest.raises(ValueError, match="1 to 53"):
        wire_id(tag, "x" * (MAX_LOCAL_LENGTH + 1))
    with pytest.raises(ValueError):
        wire_id(tag, "has space")
    assert split("short") is None


def test_the_lost_batch_is_found_among_same_sized_ones(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    client.messages.batches.create(requests=_requests(OTHER, 3))
    server.configure(first_lost_create=1)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.batches.create(requests=_requests(KEY, 3))
    client.messages.batches.create(requests=_requests(OTHER + "c", 3))
    client.messages.batches.create(requests=_requests(KEY, 4))
    (lost,) = [b for b in server.ledger()["batches"] if b["create_response_lost"]]
    found = _find(client, KEY, 3)
    assert found.batch is not None and found.batch.id == lost["id"]


def test_running_candidates_leave_the_answer_open(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(in_progress_seconds=3600)
    running = client.messages.batches.create(requests=_requests(OTHER, 2))
    found = _find(client, KEY, 2)
    assert found.batch is None and found.undecided == 1
    assert _find(client, KEY, 2, exclude={running.id}).undecided == 0


def test_no_candidate_means_never_created(client: anthropic.Anthropic) -> None:
    client.messages.batches.create(requests=_requests(OTHER, 2))
    found = _find(client, KEY, 2)
    assert found.batch is None and found.undecided == 0


def test_garbled_first_lines_are_skipped() -> None:
    wire = wire_id(tag_of(KEY), "r1").encode()
    lines = [b"{not json", b'{"custom_id": "foreign"}', b'{"custom_id": "' + wire + b'"}']
    assert first_tag_of_lines(lines) == tag_of(KEY)
