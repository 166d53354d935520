"""The gemini provider's upkeep hooks through the real google-genai SDK against the Gemini
emulator: ``doctor``/``run`` checks, the banner line, and the sweep of uploads and batch jobs of
ours left behind."""

from __future__ import annotations

from typing import Any

from plugins.common.healthchecks import health_checks
from plugins.core_commands.run import describe_setup
from plugins.gemini_provider import GeminiProvider
from tests.cli.support import closed_port

from .conftest import MODEL, GeminiHarness


def _checks(kernel: Any, remote: bool = True) -> dict[str, Any]:
    """The kernel's provider checks by name."""
    checks = health_checks(kernel, remote=remote)
    return {check.name: check for check in checks if check.name.startswith("provider")}


def test_checks_pass_on_a_ready_endpoint(gh: GeminiHarness) -> None:
    checks = _checks(gh.kernel)
    assert [checks[n].ok for n in ("provider key", "provider reachable", "provider model")] == [
        True
    ] * 3, checks
    assert gh.server.base_url in checks["provider reachable"].detail
    assert MODEL in checks["provider model"].detail
    banner = describe_setup(gh.kernel)["provider"]
    assert banner == f"gemini at {gh.server.base_url} (model {MODEL}, key set)"
    assert "test-key" not in banner


def test_checks_name_each_problem_and_its_fix(gh: GeminiHarness) -> None:
    settings = gh.kernel.settings
    settings.set("gemini.model", "gpt-4o")
    unknown = _checks(gh.kernel)
    assert unknown["provider reachable"].ok and not unknown["provider model"].ok
    assert "does not know model 'gpt-4o'" in unknown["provider model"].detail
    assert "gemini.model" in unknown["provider model"].fix

    gh.server.configure(api_key="the-right-key")
    refused = _checks(gh.kernel)
    assert not refused["provider reachable"].ok and "provider model" not in refused
    assert "refused the API key" in refused["provider reachable"].detail
    assert "GEMINI_API_KEY" in refused["provider reachable"].fix

    url = f"http://127.0.0.1:{closed_port()}/"
    settings.set("gemini.base_url", url)
    down = _checks(gh.kernel)
    assert f"cannot reach {url}" in down["provider reachable"].detail
    assert "gemini.base_url" in down["provider reachable"].fix
    assert list(_checks(gh.kernel, remote=False)) == ["provider key"]

    settings.set("gemini.api_key", "")
    (only,) = _checks(gh.kernel).values()
    assert (only.name, only.ok) == ("provider key", False) and "GEMINI_API_KEY" in only.fix
    assert "no key" in describe_setup(gh.kernel)["provider"]


def _finish(gh: GeminiHarness) -> None:
    """Let every batch the emulator holds end (its lifecycle is instant once configured so)."""
    gh.server.configure(in_progress_seconds=0)
    assert all(b["state"] != "JOB_STATE_RUNNING" for b in gh.ledger_batches())


def test_sweep_deletes_uploads_and_jobs_of_keys_that_are_over(gh: GeminiHarness) -> None:
    gh.kernel.settings.set("gemini.inline_max_bytes", 0)
    gh.kernel.settings.set("gemini.sweep_interval_seconds", 0)
    plans = {name: gh.plan(lines=2) for name in ("applied", "inline", "running", "foreign")}
    for name, plan in plans.items():
        gh.kernel.settings.set("gemini.inline_max_bytes", 10**6 if name == "inline" else 0)
        if name == "running":
            gh.server.configure(in_progress_seconds=3600)
        gh.provider.submit_batch(gh.kernel, plan)
    orphan = gh.plan(lines=2)
    client = gh.provider._clients.get(gh.provider._setup(gh.kernel)[0])
    client.files.upload(
        file=str(orphan.input_path),
        config={"mime_type": "application/jsonl", "display_name": orphan.submission_key},
    )
    over = {plans[n].submission_key for n in ("applied", "inline", "running")}
    over.add(orphan.submission_key)
    asked: list[str] = []

    def settled(keys: Any) -> set[str]:
        """The keys that are over, of those asked about."""
        asked.extend(keys)
        return over & set(keys)

    sweeper = GeminiProvider()
    sweeper.page_size = sweeper.file_page_size = 2
    deleted = sweeper.sweep_provider_files(gh.kernel, settled)
    assert set(asked) == over | {plans["foreign"].submission_key}
    ledger = gh.server.ledger()
    jobs = {b["display_name"]: b for b in ledger["batches"]}
    files = {f["name"]: f for f in ledger["files"]}
    gone = {name for name, f in files.items() if f["deleted"]}
    applied = jobs[plans["applied"].submission_key]
    assert jobs[plans["inline"].submission_key]["deleted"] and applied["deleted"]
    assert gone == {applied["input_file"], applied["responses_file"]} | {
        name for name, f in files.items() if f["displayName"] == orphan.submission_key
    }
    assert not jobs[plans["running"].submission_key]["deleted"], "a running job keeps all"
    assert not jobs[plans["foreign"].submission_key]["deleted"], "not a key that is over"
    assert deleted == 5
    _finish(gh)
    assert sweeper.sweep_provider_files(gh.kernel, settled) == 3, "the running key, now ended"


def test_sweep_keeps_with_keep_within_its_interval_and_never_raises(gh: GeminiHarness) -> None:
    provider = GeminiProvider()
    now = [1000.0]
    provider.clock = lambda: now[0]
    plan = gh.plan(lines=2)
    gh.provider.submit_batch(gh.kernel, plan)
    every = lambda keys: set(keys)  # noqa: E731
    gh.kernel.settings.set("gemini.file_retention", "keep")
    assert provider.sweep_provider_files(gh.kernel, every) == 0
    gh.kernel.settings.set("gemini.file_retention", "delete")
    assert provider.sweep_provider_files(gh.kernel, every) == 1
    gh.provider.submit_batch(gh.kernel, gh.plan(lines=2))
    now[0] += 60
    assert provider.sweep_provider_files(gh.kernel, every) == 0, "within the interval"
    now[0] += 3600
    gh.kernel.settings.set("gemini.base_url", f"http://127.0.0.1:{closed_port()}/")
    gh.kernel.settings.set("gemini.max_retries", 0)
    assert provider.sweep_provider_files(gh.kernel, every) == 0
