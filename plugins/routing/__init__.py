"""The ``routing`` plugin: which provider each company's new batches go to, and failover.

Routes every company to the first provider of its own list (``companies set-provider``) or of
``routing.providers`` that takes new batches now; reports a failover as a metric, a status line
and one log line per change. See :mod:`plugins.routing.plugin`.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"RoutingPlugin": "plugin"},
)

__all__ = ["RoutingPlugin"]
