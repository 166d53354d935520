"""``python -m plugins.chaos``: the soak run of ``batchkernel chaos``, with the same options."""

import typer

from plugins.chaos.soak import chaos_command

if __name__ == "__main__":
    typer.run(chaos_command)
