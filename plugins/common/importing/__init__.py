"""Loading sessions from JSONL, the library behind ``batchkernel import`` (and the demo, the
benchmark and the chaos harness): line checks, set-based chunk writes, refusal isolation.

:mod:`plugins.common.importing.importer` puts them together; see its docstring for the format.
"""
