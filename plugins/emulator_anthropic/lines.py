"""Per-request outcome codes: which requests meet a result-level fault (drawn once per batch)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .config import AnthropicEmulatorConfig

LINE_OK = 0
LINE_ERROR = 1
LINE_MISSING = 2
LINE_GARBAGE = 3
LINE_UNKNOWN_ID = 4
LINE_DUPLICATE = 5
LINE_INVALID_ANSWER = 6
LINE_REFUSAL = 7


def _rates(cfg: AnthropicEmulatorConfig) -> list[tuple[int, float]]:
    """The outcome codes with a non-zero rate, in precedence order."""
    rates = (
        (LINE_ERROR, cfg.rate_line_error),
        (LINE_MISSING, cfg.rate_missing_lines),
        (LINE_GARBAGE, cfg.rate_garbage_lines),
        (LINE_UNKNOWN_ID, cfg.rate_unknown_id_lines),
        (LINE_DUPLICATE, cfg.rate_duplicate_lines),
        (LINE_INVALID_ANSWER, cfg.rate_invalid_answers),
        (LINE_REFUSAL, cfg.rate_refusals),
    )
    return [(code, rate) for code, rate in rates if rate > 0]


def outcomes(
    custom_ids: Sequence[str], seen: dict[str, int], seed: str, cfg: AnthropicEmulatorConfig
) -> bytearray:
    """One code per request. With ``line_faults_by_request`` a request's draw depends only on its
    custom id and how often it was sent before, so any grouping into batches sees the same faults."""
    codes = bytearray(len(custom_ids))
    active = _rates(cfg)
    batch_draw = random.Random(f"{seed}:lines").random
    for index, custom_id in enumerate(custom_ids):
        attempt = seen.get(custom_id, 0)
        seen[custom_id] = attempt + 1
        if not active:
            continue
        draw = (
            random.Random(f"{cfg.seed}:{custom_id}:{attempt}").random
            if cfg.line_faults_by_request
            else batch_draw
        )
        for code, rate in active:
            if draw() < rate:
                codes[index] = code
                break
    return codes
