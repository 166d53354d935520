"""insufficient_quota through the real SDK against the emulator: not retried, creation pauses
for a growing cool-down, health and status say so, and the first accepted batch ends it."""

from __future__ import annotations

import pytest

from kernel.types import ProviderError
from plugins.openai_provider.calls import CALLS
from plugins.openai_provider.pause import PAUSED
from tests.provider.conftest import Harness


def _calls(h: Harness, operation: str) -> int:
    """Calls the provider made for ``operation`` (every outcome)."""
    return len(h.values(CALLS, operation=operation))


def test_quota_pauses_creation_with_a_growing_cool_down(harness: Harness) -> None:
    h = harness
    h.kernel.settings.set("openai.quota_pause_seconds", 600)
    h.kernel.settings.set("openai.quota_pause_max_seconds", 1000)
    h.server.configure(insufficient_quota=True)
    with pytest.raises(ProviderError) as raised:
        h.provider.submit_batch(h.kernel, h.plan())
    assert raised.value.condition == "quota" and not raised.value.retryable
    assert _calls(h, "upload") == 1, "a quota answer is not retried"
    assert h.provider.breaker_states()["upload"]["failures"] == 0, "nor counted by the breaker"
    health = h.provider.provider_health(h.kernel, "openai")
    assert health is not None and health.condition == "quota"
    assert "exceeded your current quota" in health.reason
    assert health.until is not None and health.until.timestamp() == pytest.approx(h.clock() + 600)
    assert h.provider.provider_health(h.kernel, "anthropic") is None, "not its name"
    assert h.values(PAUSED, provider="openai") == [1]

    with pytest.raises(ProviderError):
        h.provider.submit_batch(h.kernel, h.plan())
    assert _calls(h, "upload") == 1, "paused: the provider is not called"

    h.clock.advance(601)
    with pytest.raises(ProviderError):
        h.provider.submit_batch(h.kernel, h.plan())
    second = h.provider.provider_health(h.kernel, "openai")
    assert second.until is not None
    assert second.until.timestamp() == pytest.approx(h.clock() + 1000), "doubled, capped"
    status = h.provider.collect_status(h.kernel)["provider_health"]["openai"]
    assert status["condition"] == "quota" and status["streak"] == 2

    h.server.configure(insufficient_quota=False)
    h.clock.advance(1001)
    submitted = h.provider.submit_batch(h.kernel, h.plan())
    assert submitted.provider_batch_id
    assert h.provider.provider_health(h.kernel, "openai").condition == "ok"
    assert h.provider.collect_status(h.kernel)["provider_health"]["openai"]["streak"] == 0
    assert h.values(PAUSED, provider="openai")[-1] == 0


def test_merged_status_shows_any_instance_paused(harness: Harness) -> None:
    h = harness
    ok = {"openai": {"condition": "ok", "until": None, "streak": 0}}
    paused = {"openai": {"condition": "quota", "until": "2030-01-01T00:00:00+00:00", "streak": 1}}
    merged = h.provider.merge_status(h.kernel, "provider_health", [ok, paused])
    assert merged["openai"]["condition"] == "quota"
