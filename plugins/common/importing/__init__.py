"""The parts of ``batchkernel import``: line checks, set-based chunk writes, refusal isolation.

:mod:`kernel.importer` puts them together; see its docstring for the file format.
"""
