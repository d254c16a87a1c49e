"""Content packs: complete, reproducible, named by each backend, written all or nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rmmdetect
from rmmdetect import Catalog, Site
from rmmdetect.packaging import build_pack, write_pack
from rmmdetect.registry import backend_classes

RMMDETECT = Path(sys.executable).with_name("rmmdetect")


def test_a_pack_holds_every_rule_in_every_format(catalog: Catalog) -> None:
    pack = build_pack(catalog, dict.fromkeys(backend_classes()))
    formats = sum(len(cls.formats) for cls in backend_classes().values())
    assert len(pack.files) == len(catalog) * formats
    assert [f.path for f in pack.files] == sorted(f.path for f in pack.files)
    assert {f.rule_id for f in pack.files} == {str(rule.id) for rule in catalog}


def test_a_pack_is_reproducible_and_its_manifest_hashes_hold(
    catalog: Catalog, supremo_site: Site, tmp_path: Path
) -> None:
    first = build_pack(catalog, {"kql": None, "sigma": ["rule"]}, site=supremo_site)
    second = build_pack(catalog, {"kql": None, "sigma": ["rule"]}, site=supremo_site)
    assert first.sha256 == second.sha256
    folder = write_pack(first, tmp_path / "pack")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["pack_sha256"] == first.sha256
    for entry in manifest["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    names = {Path(entry["path"]).name for entry in manifest["files"]}
    assert "image_load_win_supremo_signature.yml" in names
    assert "remote_management_and_monitoring_tool_supremo_file_signature.kql" in names


def test_unsupported_parts_are_listed_in_the_manifest(
    supremo: rmmdetect.Rule, supremo_site: Site
) -> None:
    pack = build_pack([supremo], {"sigma": ["rule"]}, site=supremo_site)
    (item,) = pack.files
    assert any("event.id" in note for note in item.notes)


def test_nothing_is_written_when_a_rule_fails(
    supremo: rmmdetect.Rule, supremo_site: Site, tmp_path: Path
) -> None:
    with pytest.raises(rmmdetect.UnsupportedFeatureError):
        build_pack([supremo], {"sigma": ["rule"]}, site=supremo_site, unsupported="raise")
    pack = build_pack([supremo], {"kql": None})
    write_pack(pack, tmp_path / "pack")
    with pytest.raises(rmmdetect.RmmdetectError, match="already exists"):
        write_pack(pack, tmp_path / "pack")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def test_the_pack_command(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    done = subprocess.run(
        [str(RMMDETECT), "pack", "-o", str(out), "-t", "kql:query", "-t", "eql"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["eql", "kql", "manifest.json"]
    assert sorted(p.name for p in (out / "kql").iterdir()) == ["query"]
    again = subprocess.run(
        [str(RMMDETECT), "pack", "-o", str(out)], capture_output=True, text=True, check=False
    )
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr
