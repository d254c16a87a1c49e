"""Content packs: every rule of a catalog rendered for several targets, as files with a manifest.

A pack is reproducible: files are ordered by path, nothing in them depends on the time, and
the manifest carries the SHA-256 of every file and of the whole pack, so two builds of the same
catalog, site and targets are byte-identical. Writing is all or nothing: the pack is built in a
temporary folder beside the destination and moved into place only when complete.

Layout::

    <pack>/<target>/<format>/<file>   one rendering per rule, named by its backend
    <pack>/manifest.json              targets, files, their hashes and the notes of each
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmmdetect.errors import Policy, RmmdetectError
from rmmdetect.model import Rule
from rmmdetect.registry import get_backend
from rmmdetect.rendering import convert
from rmmdetect.site import Site, Unresolved

__all__ = ["Pack", "PackFile", "build_pack", "write_pack"]

logger = logging.getLogger("rmmdetect")


@dataclass(frozen=True)
class PackFile:
    """One rendered rule in a pack.

    Attributes:
        path: The path inside the pack, with ``/`` separators.
        text: The rendering.
        rule_id: The rule's id.
        notes: What the rendering approximated or left out.
    """

    path: str
    text: str
    rule_id: str
    notes: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's UTF-8 text."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pack:
    """A built content pack.

    Attributes:
        files: The rendered files, ordered by path.
        targets: Each target with the formats rendered for it.
    """

    files: tuple[PackFile, ...]
    targets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """A hash of the whole pack: of every file's path and hash, in order."""
        digest = hashlib.sha256()
        for item in self.files:
            digest.update(f"{item.path}\0{item.sha256}\n".encode())
        return digest.hexdigest()

    def manifest(self) -> dict[str, Any]:
        """Return the manifest: targets, files with hashes and notes, and the pack's hash."""
        return {
            "pack_sha256": self.sha256,
            "targets": {name: list(formats) for name, formats in self.targets.items()},
            "files": [
                {
                    "path": item.path,
                    "rule_id": item.rule_id,
                    "sha256": item.sha256,
                    "notes": list(item.notes),
                }
                for item in self.files
            ],
        }


def build_pack(
    rules: Iterable[Rule],
    targets: Mapping[str, Sequence[str] | None],
    *,
    site: Site | None = None,
    unresolved: Unresolved | str = Unresolved.OMIT,
    unsupported: Policy | str = Policy.COLLECT,
) -> Pack:
    """Render every rule for every target and format.

    Args:
        rules: The rules, e.g. a loaded catalog.
        targets: Each target with the formats to render; ``None`` means all of its formats.
        site: Values for the exclusions' placeholders.
        unresolved: What to do with an exclusion whose placeholders have no site value.
        unsupported: What to do with a part a target cannot express; a pack defaults to
            ``collect``, so the manifest lists what each file left out.

    Returns:
        The pack.

    Raises:
        RmmdetectError: A target or format is unknown, two renderings would share a file,
            or a rule cannot be rendered under the chosen policies.
    """
    chosen = {
        name: tuple(formats or get_backend(name).formats) for name, formats in targets.items()
    }
    files: dict[str, PackFile] = {}
    for rule in rules:
        for name, formats in chosen.items():
            backend = get_backend(name)
            for fmt in formats:
                rendering = convert(
                    rule, name, fmt, site=site, unresolved=unresolved, unsupported=unsupported
                )
                path = f"{name}/{fmt}/{backend.file_name(rule, fmt)}"
                if path in files:
                    raise RmmdetectError(
                        f"rules {files[path].rule_id} and {rule.id} would both be written to "
                        f"{path}; give one of them another name"
                    )
                notes = tuple(str(note) for note in rendering.notes)
                files[path] = PackFile(path, rendering.text, str(rule.id), notes)
    logger.debug("built a pack of %d files", len(files))
    return Pack(tuple(files[path] for path in sorted(files)), chosen)


def write_pack(pack: Pack, destination: str | Path) -> Path:
    """Write a pack to a folder that must not exist yet; all of it or nothing.

    Returns:
        The folder written.

    Raises:
        RmmdetectError: The folder exists or cannot be written.
    """
    target = Path(destination)
    if target.exists():
        raise RmmdetectError(f"{target}: already exists; choose a new folder for the pack")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as error:
        raise RmmdetectError(f"{target}: cannot write the pack there: {error}") from None
    try:
        for item in pack.files:
            path = staging.joinpath(*item.path.split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(item.text, encoding="utf-8")
        manifest = json.dumps(pack.manifest(), indent=2, sort_keys=True, ensure_ascii=False)
        (staging / "manifest.json").write_text(manifest + "\n", encoding="utf-8")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
