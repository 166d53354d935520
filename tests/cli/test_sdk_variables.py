"""The provider SDK's own variables: ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` fill the
``[openai]`` settings that nothing else sets; anything the user set explicitly wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.settings import read_settings
from plugins.settings_command.view import effective


def _effective(key: str, **kwargs: object) -> tuple[object, str]:
    loaded = read_settings(**kwargs)  # type: ignore[arg-type]
    item = next(item for item in effective(loaded) if item.declared.dotted == key)
    return item.value, item.origin


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHKERNEL_OPENAI__BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_openai_base_url_fills_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert _effective("openai.base_url") == ("http://127.0.0.1:9/v1", "OPENAI_BASE_URL")


def test_an_explicit_setting_wins_over_openai_base_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("BATCHKERNEL_OPENAI__BASE_URL", "http://proxy.internal/v1")
    assert _effective("openai.base_url")[0] == "http://proxy.internal/v1"
    monkeypatch.delenv("BATCHKERNEL_OPENAI__BASE_URL")
    settings = tmp_path / "mine.toml"
    settings.write_text('[default.openai]\nbase_url = "http://file.internal/v1"\n')
    assert _effective("openai.base_url", settings_file=settings)[0] == "http://file.internal/v1"
    overridden = _effective("openai.base_url", overrides={"openai.base_url": "http://cli/v1"})
    assert overridden[0] == "http://cli/v1"


def test_openai_api_key_still_fills_an_empty_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-sdk-variable")
    assert _effective("openai.api_key") == ("sk-from-the-sdk-variable", "OPENAI_API_KEY")
