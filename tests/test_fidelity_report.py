"""The committed docs/fidelity.md is what tools/fidelity_report.py generates now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_committed_fidelity_report_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "fidelity_report", REPO / "tools" / "fidelity_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (REPO / "docs" / "fidelity.md").read_text("utf-8")
    assert committed == module.generate(), "run: python tools/fidelity_report.py"
