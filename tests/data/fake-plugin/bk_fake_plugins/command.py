"""A third-party plugin that adds a command to ``batchkernel``."""

from typing import Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import SettingsOption, open_kernel


def hello(
    name: Annotated[str, typer.Argument(help="Who to greet.")],
    settings: SettingsOption = None,
) -> None:
    """Greet someone and name the processor the settings select."""
    kernel = open_kernel(settings)
    typer.echo(f"hello {name}; processor {kernel.settings.plugins.processor}")


class HelloCommand:
    """Adds ``batchkernel fake-hello``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``fake-hello`` command."""
        cli.command("fake-hello")(hello)
