"""`python -m plugins.emulator`: run the emulator in the foreground, every setting a flag."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence
from typing import Any

from .config import EmulatorConfig
from .server import serve_forever


def _pairs(text: str) -> dict[str, int]:
    """Parse "key=N[,key=N...]" into a dict (for first_* and enqueued_token_limits)."""
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.rpartition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=N, got {item!r}")
        out[key] = int(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    """One flag per EmulatorConfig field (--rate-429, --first-500 files.content=2, ...)."""
    parser = argparse.ArgumentParser(
        prog="python -m plugins.emulator",
        description="OpenAI-compatible Files + Batch API emulator with fault injection.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--data-dir", default=None, help="keep files here (default: temp dir)")
    hints = typing.get_type_hints(EmulatorConfig)
    defaults = EmulatorConfig()
    for field in dataclasses.fields(EmulatorConfig):
        flag = "--" + field.name.replace("_", "-")
        hint = hints[field.name]
        default = getattr(defaults, field.name)
        common: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS}
        if hint is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, help=f"default {default}", **common
            )
        elif hint == dict[str, int]:
            parser.add_argument(
                flag,
                type=_pairs,
                metavar="KEY=N[,KEY=N]",
                help="e.g. batches.create=2 (first_*) or gpt-4o-mini=2000000 (limits)",
                **common,
            )
        elif hint == tuple[str, ...]:
            parser.add_argument(flag, metavar="OP[,OP]", help="comma-separated", **common)
        elif hint in (int, float):
            parser.add_argument(flag, type=hint, help=f"default {default}", **common)
        else:
            parser.add_argument(flag, help=f"default {default}", **common)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and serve until Ctrl-C."""
    args = vars(build_parser().parse_args(argv))
    host, port, data_dir = args.pop("host"), args.pop("port"), args.pop("data_dir")
    try:
        config = EmulatorConfig.from_dict(args)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    serve_forever(config, host=host, port=port, data_dir=data_dir)


if __name__ == "__main__":
    main()
