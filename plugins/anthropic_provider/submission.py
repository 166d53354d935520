"""The create body of a plan: the records of its input file with tagged custom ids."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import orjson

from kernel.types import ProviderError
from plugins.anthropic_provider.customids import wire_id

if TYPE_CHECKING:
    from anthropic.types.messages.batch_create_params import Request


def batch_requests(path: Path, tag: str) -> list[Request]:
    """``requests`` for ``messages.batches.create``: each record's custom id tagged."""
    out: list[Request] = []
    number = 0
    try:
        with path.open("rb") as handle:
            for raw in handle:
                number += 1
                if not raw.strip():
                    continue
                record = orjson.loads(raw)
                item = {
                    "custom_id": wire_id(tag, str(record["custom_id"])),
                    "params": record["params"],
                }
                out.append(cast("Request", item))
    except OSError as exc:
        raise ProviderError(
            f"cannot read batch input file {path}: {exc}", retryable=False, operation="create"
        ) from exc
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ProviderError(
            f"batch input file {path} line {number} is not an Anthropic request record: {exc}",
            retryable=False,
            operation="create",
        ) from exc
    return out
