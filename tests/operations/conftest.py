"""Operator tests run on a finished pipeline: the lifecycle's pipeline fixture, some answers
refused for good by the emulator so there are failed requests to look at and retry."""

from __future__ import annotations

from tests.lifecycle.conftest import make_pipeline, processor

__all__ = ["make_pipeline", "processor"]
