"""Anthropic Message Batches API emulator on loopback, with fault injection, for the real SDK.

Built from Anthropic's API reference for Message Batches (https://docs.anthropic.com/en/api/
creating-message-batches, retrieving-message-batches, listing-message-batches,
canceling-message-batches, retrieving-message-batch-results, deleting-message-batches), the
Messages API reference (https://docs.anthropic.com/en/api/messages), the errors page
(https://docs.anthropic.com/en/api/errors) and the ``anthropic`` Python SDK's types
(``resources/messages/batches.py``, ``types/messages/message_batch*.py``,
``types/messages/batch_create_params.py``, ``types/message_create_params.py``,
``types/output_config_param.py``, ``types/shared/error_response.py``, ``pagination.SyncPage``).

What it serves: create (the requests in the body), retrieve, list (newest first, ``before_id`` /
``after_id`` / ``limit``), cancel, results (JSONL at ``results_url``, in any order) and delete;
``processing_status`` ``in_progress`` → ``canceling`` → ``ended``; ``request_counts``; result
types ``succeeded`` / ``errored`` / ``canceled`` / ``expired``. Faults: 429 with ``retry-after``,
500, 529 ``overloaded_error``, dropped connections, lost create answers, rejected creates,
expiry with partial results, errored / missing / garbled / unknown / duplicated result lines,
shuffled results. Structured output: a forced tool call gets a ``tool_use`` block, and
``output_config.format`` (``json_schema``) a JSON text block, conforming to the schema.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {
        "OPERATIONS": "config",
        "AnthropicEmulatorConfig": "config",
        "AnthropicEmulatorServer": "server",
        "serve_forever": "server",
    },
)

__all__ = ["OPERATIONS", "AnthropicEmulatorConfig", "AnthropicEmulatorServer", "serve_forever"]
