"""Regenerate the golden files from the current backends; review the diff before committing.

Run: python tests/golden/regenerate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_cases import CASES, render_case  # noqa: E402


def main() -> None:
    for case in CASES:
        path = HERE / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_case(case), encoding="utf-8")
        print(f"wrote {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
