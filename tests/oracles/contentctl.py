"""Splunk's contentctl as the oracle of the ESCU format, and a reference ``.conf`` reader.

contentctl (PyPI, Splunk's own build tool for security_content) validates and builds a whole
app offline in a few seconds: ``contentctl init`` writes an app skeleton, the test adds the
objects a detection names (the ``sysmon`` macro, the Sysmon data sources, the analytic story,
copied from ``contentctl/app`` beside this module) and the rendered detections, then runs
``contentctl validate`` and ``contentctl build``; the build writes ``savedsearches.conf`` and
``macros.conf``. contentctl pins pydantic < 2.10, so it lives in its own virtual environment:
``.venv-contentctl`` at the repository root (``.ci/run`` creates it) or the executable named by
``RMMDETECT_CONTENTCTL``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
APP_FILES = Path(__file__).resolve().parent / "contentctl" / "app"
CONTENTCTL_VERSION = "5.6.2"
INSTALL = (
    "python3 -m venv .venv-contentctl && "
    f".venv-contentctl/bin/pip install contentctl=={CONTENTCTL_VERSION}"
)


def find_contentctl() -> Path | None:
    """Return the contentctl executable, or None when it is not installed."""
    named = os.environ.get("RMMDETECT_CONTENTCTL")
    path = Path(named) if named else REPO / ".venv-contentctl" / "bin" / "contentctl"
    return path if path.is_file() else None


@dataclass(frozen=True)
class Run:
    """One contentctl command's status and output."""

    returncode: int
    output: str


def read_conf(text: str) -> dict[str, dict[str, str]]:
    """Read a ``.conf`` file: ``[stanza]`` headers, ``key = value`` lines, and values continued
    onto the next line by a trailing backslash (the line break is kept, the backslash dropped).
    Comment lines start with ``#``.
    """
    stanzas: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    lines = iter(text.split("\n"))
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.rstrip().endswith("]"):
            name = line.rstrip()[1:-1]
            assert name not in stanzas, f"stanza [{name}] twice"
            current = stanzas[name] = {}
            continue
        assert current is not None, f"key outside a stanza: {line!r}"
        while line.endswith("\\"):
            line = line[:-1] + "\n" + next(lines)
        key, _, value = line.partition(" = ")
        assert key not in current, f"key {key} twice"
        current[key.strip()] = value
    return stanzas


class ContentApp:
    """A contentctl app in a directory, with the objects the ESCU format names."""

    def __init__(self, executable: Path, root: Path) -> None:
        self.executable = executable
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        init = self.run("init")
        assert init.returncode == 0, init.output
        shutil.copytree(APP_FILES, root, dirs_exist_ok=True)
        config = root / "contentctl.yml"
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["app"]["label"] = "ESCU"  # contentctl's own stanza prefix; the name limit needs it
        config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def run(self, *args: str) -> Run:
        done = subprocess.run(
            [str(self.executable), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def add(self, escu_text: str) -> list[tuple[dict[str, object], dict[str, object]]]:
        """Add the rendered ESCU stream: each detection and its filter macro."""
        documents = list(yaml.safe_load_all(escu_text))
        assert len(documents) % 2 == 0, "each detection comes with its filter macro"
        pairs = list(zip(documents[::2], documents[1::2], strict=True))
        texts = escu_text.split("\n---\n")
        for index, (detection, macro) in enumerate(pairs):
            stem = str(macro["name"]).removesuffix("_filter")
            (self.root / "detections" / "endpoint" / f"{stem}.yml").write_text(
                texts[2 * index] + "\n", encoding="utf-8"
            )
            (self.root / "macros" / f"{macro['name']}.yml").write_text(
                texts[2 * index + 1], encoding="utf-8"
            )
            assert detection["name"]
        return pairs

    def conf(self, name: str) -> dict[str, dict[str, str]]:
        """Read a ``.conf`` file of the built app."""
        (path,) = (self.root / "dist").glob(f"*/default/{name}")
        return read_conf(path.read_text(encoding="utf-8"))
