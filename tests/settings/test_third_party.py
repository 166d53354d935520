"""A third-party plugin's settings section, declared through its entry point (the checked-in fake
distribution ``batchkernel-fake``, plugin ``fake-configured``, section ``[fake]``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.manager import Kernel
from kernel.settings import load_settings, read_settings
from kernel.types import ConfigError
from plugins.settings_command.view import effective

SECRET = "LICENSE-s3cr3t-0123456789"
pytestmark = pytest.mark.usefixtures("fake_distribution")


def test_defaults_come_from_the_declaration() -> None:
    fake = load_settings().fake
    assert (fake.greeting, fake.level, fake.mode, fake.license_key) == ("hello", 3, "quiet", "")


def test_the_section_is_known_when_the_plugin_is_not_enabled(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        '[default.plugins]\nautoload = false\n[production.fake]\nlevel = 5\nmode = "loud"\n'
    )
    settings = load_settings(settings_file=user, environment="production")
    assert settings.fake.level == 5 and settings.fake.mode == "loud"


def test_a_variable_sets_a_key_and_is_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHKERNEL_FAKE__GREETING", "bonjour")
    found = {item.declared.dotted: item for item in effective(read_settings())}
    assert found["fake.greeting"].value == "bonjour"
    assert found["fake.greeting"].origin == "BATCHKERNEL_FAKE__GREETING"
    assert found["fake.greeting"].declared.owners == ("fake-configured",)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"fake.level": 9}, "fake.level must be a whole number from 1 to 5 (got 9)"),
        ({"fake.mode": "shouting"}, "fake.mode must be one of: quiet, loud (got 'shouting')"),
        ({"fake.greeting": ""}, "fake.greeting must be a non-empty string"),
        ({"fake.mode": "loud"}, "fake.mode = loud needs fake.level of at least 4 (got 3)"),
    ],
)
def test_values_are_checked_by_type_bounds_choices_and_the_plugins_validator(
    overrides: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides)
    assert expected in str(info.value)


def test_an_unknown_key_of_the_section_suggests_the_declared_one(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text('[default.fake]\ngreetng = "hi"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(settings_file=user)
    assert "unknown setting fake.greetng" in str(info.value)
    assert "did you mean [default.fake] greeting?" in str(info.value)


def test_a_declared_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHKERNEL_FAKE__LICENSE_KEY", f'@json ["{SECRET}"]')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "fake.license_key must be a string (got a list, value hidden)" in message
    assert SECRET not in message


def test_the_enabled_plugin_reads_its_section(sqlite_url: str) -> None:
    kernel = Kernel.create(
        overrides={
            "database.url": sqlite_url,
            "plugins.autoload": False,
            "plugins.exporters": ["fake-configured"],
            "fake.greeting": "hej",
        }
    )
    try:
        kernel.metric("batchkernel.test", 1)
        plugin = kernel.pm.get_plugin("fake-configured")
        assert plugin is not None and plugin.greetings == ["hej"]
    finally:
        kernel.close()


@pytest.mark.parametrize(("mode", "registered"), [("loud", True), ("quiet", False)])
def test_a_section_s_values_can_ask_for_its_plugin(
    sqlite_url: str, mode: str, registered: bool
) -> None:
    """``fake.mode = "loud"`` registers ``fake-configured`` though no ``plugins.*`` key names it
    (as ``telemetry.exporter`` does ``otel``)."""
    overrides = {"database.url": sqlite_url, "plugins.autoload": False}
    kernel = Kernel.create(overrides=overrides | {"fake.mode": mode, "fake.level": 4})
    try:
        assert (kernel.pm.get_plugin("fake-configured") is not None) is registered
    finally:
        kernel.close()


def test_a_plugin_whose_settings_cannot_be_read_is_named(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[default.broken]\nanything = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(settings_file=user)
    assert "unknown settings section broken" in str(info.value)
    assert "the settings of plugin fake-broken could not be read" in str(info.value)
