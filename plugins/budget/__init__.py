"""The ``budget`` plugin: admission control before every submission.

Estimates each batch's cost, stops spending at the configured budgets, shares each create cycle's
batch slots fairly between companies, and keeps every model under the provider's enqueued-token
limit. See :mod:`plugins.budget.plugin`.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"BudgetPlugin": "plugin"},
)

__all__ = ["BudgetPlugin"]
