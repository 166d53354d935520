"""The create body of a plan: the records of its input file with tagged custom ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from kernel.types import ProviderError
from plugins.anthropic_provider.customids import wire_id


def batch_requests(path: Path, tag: str) -> list[dict[str, Any]]:
    """``requests`` for ``messages.batches.create``: each record's custom id tagged."""
    out: list[dict[str, Any]] = []
    number = 0
    try:
        with path.open("rb") as handle:
            for raw in handle:
                number += 1
                if not raw.strip():
                    continue
                record = orjson.loads(raw)
                out.append(
                    {
                        "custom_id": wire_id(tag, str(record["custom_id"])),
                        "params": record["params"],
                    }
                )
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
