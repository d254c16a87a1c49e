"""Importing Sigma rules: SigmaHQ style, the Sigma backend's own rules, every refusal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from rmmdetect_backends.sigma.fields import FIELDS as BACKEND_FIELDS
from rmmdetect_backends.sigma.fields import LOGSOURCES, Kind
from rmmdetect_backends.sigma.values import term_regex

import rmmdetect
from rmmdetect import Rule
from rmmdetect.errors import RuleFileError, UnsupportedQueryError
from rmmdetect.importers import import_file, import_text
from rmmdetect.importers.sigma import _term
from rmmdetect.importers.sigma_fields import CATEGORIES, FIELDS
from rmmdetect.model import AllOf, AnyOf, Match, Operator, Severity, Status

DATA = Path(__file__).parent / "data" / "sigma"
REPO = Path(__file__).resolve().parents[1]


def test_sigmahq_style_rule() -> None:
    rule = import_file("sigma", DATA / "sigmahq_style.yml")
    assert rule.name == "Remote Access Tool - Example Execution"
    assert (rule.status, rule.severity) == (Status.TEST, Severity.HIGH)
    assert (rule.date, rule.modified) == (dt.date(2026, 12, 1), dt.date(2026, 12, 2))
    assert rule.attack.tactics == ("CommandAndControl",)
    assert rule.attack.techniques == ("T1219",)
    assert rule.detection == AnyOf(
        any=(
            AnyOf(
                any=(
                    Match(
                        field="process.name",
                        op=Operator.EQUALS,
                        values=("example.exe", "example_service.exe"),
                    ),
                    Match(
                        field="process.pe.original_file_name",
                        op=Operator.EQUALS,
                        values=("example.exe",),
                    ),
                )
            ),
            AllOf(
                all=(
                    Match(
                        field="process.command_line", op=Operator.CONTAINS, values=(" --connect ",)
                    ),
                    Match(
                        field="process.command_line", op=Operator.CONTAINS, values=(" --silent",)
                    ),
                )
            ),
            Match(field="process.pe.company", op=Operator.HAS, values=("Example Ltd",)),
        )
    )
    assert [e.name for e in rule.exclusions] == ["filter_main_signed", "filter_optional_hash"]
    assert rule.exclusions[0].condition == AllOf(
        all=(
            Match(
                field="process.executable",
                op=Operator.STARTSWITH,
                values=("C:\\Program Files\\Example\\",),
            ),
            Match(field="process.pe.product", op=Operator.EQUALS, values=("Example",), cased=True),
        )
    )
    assert rule.exclusions[1].condition == Match(
        field="process.hash.sha256",
        op=Operator.EQUALS,
        values=("8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",),
    )


def test_backend_filters_become_named_exclusions(supremo: Rule) -> None:
    site = rmmdetect.load_site(REPO / "examples" / "site.yml")
    text = rmmdetect.render(supremo, "sigma", site=site, unsupported="collect")
    rule = import_text("sigma", text, "supremo.yml")
    names = [e.name for e in rule.exclusions]
    assert names == [
        "Legitimate SupRemo Agent Installation via MSI",
        "SupRemo Used for Software Deployment",
    ]
    assert rule.exclusions[0].condition == AllOf(
        all=(
            Match(field="process.name", op=Operator.EQUALS, values=("msiexec.exe",)),
            Match(
                field="file.hash.sha1",
                op=Operator.EQUALS,
                values=("3f786850e387550fdab836ed7e6dc881de23001b",),
            ),
        )
    )


@pytest.mark.parametrize(
    ("needle", "cased"), [("S.R.L", False), ("a+b", True), (".x.", False), ("Nano Systems", True)]
)
def test_term_regex_reads_back(needle: str, cased: bool) -> None:
    assert _term(term_regex(needle, cased)) == (needle, cased)


@pytest.mark.parametrize(
    "pattern", ["(?i)a.b", "abc(?:[^A-Za-z0-9]|$)x", "(?:^|[^A-Za-z0-9]).x", ""]
)
def test_other_regexes_are_not_terms(pattern: str) -> None:
    assert _term(pattern) is None


@pytest.mark.parametrize("category", list(LOGSOURCES))
def test_sigma_fields_agree_with_the_backend(category: rmmdetect.model.DataCategory) -> None:
    logsource = LOGSOURCES[category]
    assert CATEGORIES[(logsource["product"], logsource["category"])] is category
    backend = BACKEND_FIELDS[category]
    for sigma_name, place in FIELDS[category].items():
        if place.field is not None:
            assert backend[place.field].name == sigma_name
        if place.name_field is not None:
            assert backend[place.name_field] == type(backend[place.name_field])(
                sigma_name, Kind.BASENAME
            )
        for algorithm, field in place.hashes:
            assert backend[field].algorithm == algorithm
    # Every field the backend writes reads back as some canonical field.
    assert {f.name for f in backend.values()} <= set(FIELDS[category])


_RULE = {
    "title": "T",
    "id": "0f3f1f3e-5b8a-4c9e-9a43-3e9e0a6f3d10",
    "description": "Something to detect.",
    "author": "me",
    "date": "2026-12-01",
    "tags": ["attack.command-and-control", "attack.t1219"],
    "logsource": {"product": "windows", "category": "process_creation"},
    "detection": {"selection": {"Company": "x"}, "condition": "selection"},
    "level": "low",
}


def _with(**changes: object) -> str:
    data = {**_RULE, **changes}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        (_with(logsource={"product": "linux", "category": "process_creation"}), "log source"),
        (_with(logsource={"product": "windows", "service": "security"}), "log source"),
        (_with(detection={"sel": {"Nope": "x"}, "condition": "sel"}), "field 'Nope'"),
        (_with(detection={"sel": {"Company|base64": "x"}, "condition": "sel"}), "SigmaBase64"),
        (_with(detection={"sel": {"Company|re": "a.b"}, "condition": "sel"}), "not a whole-term"),
        (_with(detection={"sel": {"Company": "a*b"}, "condition": "sel"}), "wildcard inside"),
        (_with(detection={"sel": {"Company": "*"}, "condition": "sel"}), "nothing but wildcards"),
        (_with(detection={"sel": {"Company": 5}, "condition": "sel"}), "SigmaNumber"),
        (_with(detection={"sel": ["x"], "condition": "sel"}), "keyword search"),
        (
            _with(detection={"sel": {"ParentImage|contains": "x"}, "condition": "sel"}),
            "only |endswith",
        ),
        (_with(detection={"sel": {"Hashes|contains": "SHA1=abc"}, "condition": "sel"}), "Hashes"),
        (
            _with(detection={"filter_x": {"Company": "x"}, "condition": "not filter_x"}),
            "nothing but",
        ),
        (
            _with(detection={"sel": {"Company": "x"}, "condition": "1 of nope*"}),
            "names no selection",
        ),
        (_with(tags=["attack.t1219"]), "tactic tag"),
        (_with(title=None), "pySigma rejects"),
    ],
)
def test_unsupported_sigma_is_refused(text: str, part: str) -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text("sigma", text, "rule.yml")
    assert part in str(caught.value)


def test_refusals_name_the_line() -> None:
    text = _with(detection={"sel": {"Nope": "x"}, "condition": "sel"})
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text("sigma", text, "rule.yml")
    assert caught.value.line == text.splitlines().index("  sel:") + 1
    assert caught.value.field == "detection.sel"


def test_several_documents_and_bad_yaml_are_refused() -> None:
    with pytest.raises(UnsupportedQueryError, match="one rule document, not 2"):
        import_text("sigma", _with() + "---\n" + _with(), "rule.yml")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        import_text("sigma", "title: [", "rule.yml")
