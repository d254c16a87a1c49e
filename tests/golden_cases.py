"""The golden cases: which rule, target, format and site each golden file holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rmmdetect

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    rule_file: str
    target: str
    format: str
    site: str | None
    path: str

    @property
    def id(self) -> str:
        return self.path


FORMATS: list[tuple[str, str, str]] = [
    # (target, format, file suffix): one line per format; every catalog golden rule renders to each.
    ("kql", "query", "kql"),
    ("kql", "sentinel-hunting", "yaml"),
    ("sigma", "rule", "yml"),
    ("sigma", "filters", "yml"),
    ("eql", "query", "eql"),
    ("eql", "detection-rules", "toml"),
    ("eql", "kibana", "ndjson"),
    ("spl", "query", "spl"),
    ("spl", "savedsearch", "conf"),
    ("spl", "escu", "yml"),
]


def _cases() -> list[Case]:
    cases = []
    for target, fmt, suffix in FORMATS:
        for site in (None, "examples/site.yml"):
            tag = "site" if site else "bare"
            path = f"{target}/supremo.{fmt}.{tag}.{suffix}"
            cases.append(Case("rules/supremo.yml", target, fmt, site, path))
    return cases


CASES = _cases()


def render_case(case: Case) -> str:
    rule = rmmdetect.load_rules(REPO / case.rule_file)[0]
    site = rmmdetect.load_site(REPO / case.site) if case.site else None
    # A part a target cannot express is collected, not raised: the golden file shows what the
    # backend writes in its place.
    rendering = rmmdetect.convert(rule, case.target, case.format, site=site, unsupported="collect")
    return rendering.text
