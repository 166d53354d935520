"""One TLS context a process for every provider SDK client.

Each SDK client otherwise builds its own context and loads the CA bundle into it (about 20 ms of
CPU), which a process pays again whenever settings change or another provider or kernel builds a
client. The context is httpx's own default (its CA bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR``
honoured), made once and shared: contexts are safe to share between connections and threads.
"""

from __future__ import annotations

import ssl
import weakref
from functools import cache
from typing import Any


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context for provider clients, built on first use."""
    import httpx2

    return httpx2.create_ssl_context()


def close_with(sdk_client: object, http_client: Any) -> None:
    """Close ``http_client`` when ``sdk_client`` is collected, as the SDKs do with the HTTP
    clients they make themselves (a client given to them is left to its owner)."""
    weakref.finalize(sdk_client, http_client.close)
