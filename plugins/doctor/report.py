"""How ``batchkernel doctor`` prints its checks: ``✓ name: detail`` or ``✗ name: detail: fix``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from plugins.common.hookspecs import HealthCheck


def check_line(check: HealthCheck) -> str:
    """One check as marked-up text on one line."""
    if check.ok:
        return f"[green]✓[/green] {escape(check.name)}: {escape(check.detail)}"
    fix = f" [bold]→[/bold] {escape(check.fix)}" if check.fix else ""
    return f"[red]✗[/red] {escape(check.name)}: {escape(check.detail)}{fix}"


def print_checks(console: Console, checks: Sequence[HealthCheck]) -> None:
    """Every check, then how many failed."""
    for check in checks:
        console.print(check_line(check), highlight=False, soft_wrap=True)
    failed = sum(1 for check in checks if not check.ok)
    if failed:
        console.print(f"{failed} of {len(checks)} checks failed", highlight=False)
    else:
        console.print(f"all {len(checks)} checks passed", highlight=False)
