"""Declarations of the ``core-commands`` plugin: the key of the kernel's ``[scheduler]`` section
that ``run`` reads before it starts the scheduler, the command line's ``[log]`` section and hooks."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting
from plugins.cli.hookspecs import CommandSpec
from plugins.cli.settings_spec import LOG

SCHEDULER = Section(
    "scheduler",
    "",
    (
        Setting(
            "check_provider_on_start",
            bool,
            True,
            "`run` calls the provider once before claiming work (false: like --no-provider-check)",
        ),
        Setting("idle_pause_seconds", float, 0.05, "--until-idle: pause between passes", ge=0),
        Setting("idle_timeout_seconds", float, 3600, "--until-idle gives up after this", gt=0),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """``run``'s keys of ``[scheduler]`` (the provider check, ``--until-idle``) and ``[log]``."""
    return [SCHEDULER, LOG]


@hookimpl
def declare_hookspecs() -> list[type]:
    """The command line's hooks (``register_commands``, ``explain_error``)."""
    return [CommandSpec]
