"""Settings of the Anthropic emulator: the ``[emulator_anthropic]`` section, one key per
``AnthropicEmulatorConfig`` field plus ``port``, built like the OpenAI emulator's."""

from __future__ import annotations

from plugins.emulator.settings_spec import emulator_section
from plugins.emulator_anthropic.config import AnthropicEmulatorConfig

HELP: dict[str, str] = {
    "seed": "random seed of the injected faults",
    "api_key": "the only key the emulator accepts (empty: any); never logged",
    "in_progress_seconds": "a batch stays in_progress this long",
    "cancelling_seconds": "a batch stays canceling this long",
    "expiry_seconds": "a batch not done within this expires",
    "max_requests_per_batch": "the most requests a batch may have",
    "max_body_bytes": "the largest create body accepted",
    "shuffle_output": "results come back in random order",
    "latency_ms": "added to every call",
    "retry_after_seconds": "the retry-after of a 429, 529 or 500",
    "slow_seconds": "how long a slow call is held",
    "chaos_operations": "the operations the rate_* faults hit",
    "rate_429": "fraction of calls answered 429 rate_limit_error",
    "rate_529": "fraction of calls answered 529 overloaded_error",
    "rate_500": "fraction of calls answered 500 api_error",
    "rate_drop": "fraction of calls whose connection is dropped",
    "rate_slow": "fraction of calls held slow_seconds",
    "rate_lost_create": "fraction of batch creations done but never answered",
    "first_429": "per operation (or *): the first N calls answered 429",
    "first_529": "per operation (or *): the first N calls answered 529",
    "first_500": "per operation (or *): the first N calls answered 500",
    "first_drop": "per operation (or *): the first N calls dropped",
    "first_slow": "per operation (or *): the first N calls held slow",
    "first_lost_create": "the first N batch creations are done but never answered",
    "rate_validation_failure": "fraction of creates rejected with 400 invalid_request_error",
    "first_validation_failure": "the first N creates are rejected with 400",
    "rate_expire": "fraction of batches that expire",
    "first_expire": "the first N batches expire",
    "expire_done_fraction": "the fraction of an expiring batch's requests that still ran",
    "rate_line_error": "fraction of requests whose result is errored",
    "line_error_type": "the error type of an injected errored result",
    "rate_garbage_lines": "fraction of result lines that are not JSON",
    "rate_unknown_id_lines": "fraction of result lines with an unknown custom_id",
    "rate_duplicate_lines": "fraction of result lines repeated",
    "rate_missing_lines": "fraction of result lines left out",
    "line_faults_by_request": "line faults follow the custom id, not chance",
    "rate_invalid_answers": "fraction of answers that break the requested schema",
    "rate_refusals": "fraction of requests the model refuses (stop_reason refusal)",
    "credit_exhausted": "every create is refused: the credit balance is too low",
}

EMULATOR_ANTHROPIC = emulator_section(
    "emulator_anthropic",
    "The Anthropic Message Batches emulator (batchkernel emulator --provider anthropic, the "
    "demo, the tests): lifecycle timings, limits and fault injection.",
    AnthropicEmulatorConfig,
    HELP,
)
