"""Which engine checks each target's fidelity claims; read by tools/fidelity_report.py.

This module imports nothing, so that the report can load it by path without the engines.
tests/test_equivalence.py checks that each adapter in :data:`engines.ENGINES` is declared
here under its own name, so that the report cannot claim an engine that does not run.
"""

from __future__ import annotations

from typing import Final

PROVEN_BY: Final[dict[str, str | None]] = {
    "kql": "duckdb-kql 1.1.2",
    "eql": "eql 1.0.1 PythonEngine",
    "sigma": "pysigma-backend-sqlite 2.1.1 on SQLite",
    "spl": None,
}
"""Each target and the engine its equivalence tests run on; ``None``: no engine checks it."""

NO_ENGINE: Final[dict[str, str]] = {
    "spl": "no offline Splunk engine exists; golden files and exact escaping are checked instead",
}
"""Why a target has no engine, where none can exist."""
