"""A Gemini batch-mode emulator on loopback for the real ``google-genai`` SDK, with fault injection.

Built from the Gemini API reference (Batch Mode: ``models.batchGenerateContent``, ``batches.get``,
``batches.list``, ``batches.cancel``, ``batches.delete``, https://ai.google.dev/api/batch-mode;
the Files API and its resumable upload, https://ai.google.dev/api/files; GenerateContentResponse,
UsageMetadata and the Schema object, https://ai.google.dev/api/generate-content and
https://ai.google.dev/api/caching#Schema; the batch mode guide,
https://ai.google.dev/gemini-api/docs/batch-mode) and from the SDK's own types and wire mapping
(``google/genai/batches.py``: ``_BatchJob_from_mldev`` reads ``metadata.state`` /
``metadata.output`` of the Operation, ``_ListBatchJobsResponse_from_mldev`` reads
``operations``; ``google/genai/files.py`` and ``_api_client.upload_file`` for the upload protocol;
``types.py``: BatchJob, JobState, InlinedRequest / InlinedResponse, BatchJobDestination,
GenerateContentResponse, GenerateContentResponseUsageMetadata).

Faults, as in :mod:`plugins.emulator`: 429 RESOURCE_EXHAUSTED with a RetryInfo delay, 500
INTERNAL or 503 UNAVAILABLE, dropped connections, lost create answers (the batch exists, the
answer never arrives), batches failing validation, expiry with partial results, errored,
missing, garbled, unknown-key and duplicated result lines, shuffled results.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {
        "OPERATIONS": "config",
        "GeminiEmulatorConfig": "config",
        "GeminiEmulatorServer": "server",
        "serve_forever": "server",
    },
)

__all__ = ["OPERATIONS", "GeminiEmulatorConfig", "GeminiEmulatorServer", "serve_forever"]
