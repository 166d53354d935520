"""Lazy package exports: a plugin package's ``__init__`` names its classes without importing them.

Importing ``plugins.<name>.settings_spec`` runs the package's ``__init__`` first; with lazy exports
that stays cheap, so the settings of every plugin can be read without loading the openai SDK,
OpenTelemetry or the emulator server.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from ``package.<exports[name]>`` on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__
