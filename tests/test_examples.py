"""The examples run as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO

EXAMPLES = REPO / "examples"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def test_library_use(tmp_path: Path) -> None:
    done = _run(str(EXAMPLES / "library_use.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "== kql (query) ==" in done.stdout
    assert "Signer has 'Nanosystems S.R.L.'" in done.stdout
    assert "kept 1 of 2 events" in done.stdout


def test_generate_pack(tmp_path: Path) -> None:
    done = _run(str(EXAMPLES / "generate_pack.py"), str(tmp_path / "pack"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pack_sha256"] in done.stdout
    assert set(manifest["targets"]) == {"eql", "kql", "sigma", "spl"}
    again = _run(str(EXAMPLES / "generate_pack.py"), str(tmp_path / "pack"), cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr
