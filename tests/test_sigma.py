"""The Sigma backend, checked by pySigma's parser and SigmaHQ's own validators.

Every output is parsed by pySigma (``SigmaCollection``, filters included) and run through every
validator of pySigma and pySigma-validators-sigmahq. The SigmaHQ validators that read SigmaHQ
data (taxonomy field names, file name prefixes, Windows event ids and providers) are given
trimmed copies of that data from ``tests/data/sigmahq`` instead of downloading it; the few left
out are listed in :data:`OFF` with the reason.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from rmmdetect_backends.sigma import file_name
from rmmdetect_backends.sigma.backend import sigma_id
from rmmdetect_backends.sigma.values import name_regex, term_regex
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.filters import SigmaFilter
from sigma.modifiers import SigmaCaseSensitiveModifier
from sigma.plugins import InstalledSigmaPlugins
from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.types import SigmaRegularExpression, SigmaString, SpecialChars
from sigma.validation import SigmaValidator
from sigma.validators.base import SigmaRuleValidator
from sigma.validators.sigmahq.data import (
    data_filename,
    data_taxonomy,
    data_windows_eventid,
    data_windows_provider,
)

import rmmdetect
from conftest import GOLDEN, REPO
from golden_cases import CASES, Case, render_case
from rmmdetect import Catalog, Rule
from rmmdetect.evaluator import matches, term_match
from rmmdetect.model import Match, Not, Operator

SIGMA_CASES = [case for case in CASES if case.target == "sigma"]

# Any text but lone surrogates, which no UTF-8 rule file can hold.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)

OFF = {
    "attacktag": "needs MITRE ATT&CK data downloaded at run time",
    "d3_fendtag": "needs MITRE D3FEND data downloaded at run time",
    "sigmahq_tags_techniques_without_tactics": "needs MITRE ATT&CK data downloaded at run time",
    "sigmahq_status_to_high": (
        "judges the rule's status against today's date (a rule younger than 60 days should be "
        "experimental): a verdict on the catalog's status that changes with the calendar"
    ),
}
"""Validators left out, each with the reason; every other installed validator runs."""

_DATA = {
    data_taxonomy: "sigmahq_taxonomy.json",
    data_filename: "sigmahq_filename.json",
    data_windows_eventid: "sigmahq_windows_eventid.json",
    data_windows_provider: "sigmahq_windows_provider.json",
}

_PARTS = {
    Operator.EQUALS: lambda v: [v],
    Operator.CONTAINS: lambda v: [SpecialChars.WILDCARD_MULTI, v, SpecialChars.WILDCARD_MULTI],
    Operator.STARTSWITH: lambda v: [v, SpecialChars.WILDCARD_MULTI],
    Operator.ENDSWITH: lambda v: [SpecialChars.WILDCARD_MULTI, v],
    Operator.HAS: lambda v: [SpecialChars.WILDCARD_MULTI, v, SpecialChars.WILDCARD_MULTI],
}
"""What pySigma reads back for a value under each operator (has without has_regex)."""


Validators = list[type[SigmaRuleValidator]]


@pytest.fixture(scope="session")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Validators:
    """Every installed validator but those in OFF, reading SigmaHQ data from tests/data."""
    cache = tmp_path_factory.mktemp("sigmahq-cache")
    for module, name in _DATA.items():
        module.set_cache_dir(str(cache / name))
        module.set_url(str(REPO / "tests" / "data" / "sigmahq" / name))
    validators = InstalledSigmaPlugins.autodiscover().validators
    missing = set(OFF) - set(validators)
    assert not missing, f"validators named in OFF are not installed: {missing}"
    assert len(validators) > 60, "pySigma-validators-sigmahq is not installed"
    return [cls for name, cls in validators.items() if name not in OFF]


def _load(text: str, directory: Path, name: str) -> SigmaCollection:
    """Parse a rendering as pySigma does a rule file, failing on any error."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    collection = SigmaCollection.load_ruleset([path], collect_errors=True)
    errors = [error for item in [*collection, *collection.filters] for error in item.errors]
    assert not errors, errors
    return collection


def _check(text: str, rule: Rule, directory: Path, validator: Validators) -> SigmaCollection:
    """Parse a rendering of ``rule`` and validate it; return the parsed collection."""
    collection = _load(text, directory, file_name(rule))
    rules = [item for item in collection if isinstance(item, SigmaRule)]
    assert [r.id for r in rules] == [sigma_id(rule)]
    # A fresh validator each time: some compare rules with the ones validated before.
    issues = SigmaValidator(validator).validate_rules(iter(rules))
    assert not issues, "\n".join(f"{type(i).__name__}: {i}" for i in issues)
    return collection


def _items(sigma_rule: SigmaRule) -> Iterator[SigmaDetectionItem]:
    def walk(node: Any) -> Iterator[SigmaDetectionItem]:
        if isinstance(node, SigmaDetectionItem):
            yield node
        else:
            for child in node.detection_items:
                yield from walk(child)

    for detection in sigma_rule.detection.detections.values():
        yield from walk(detection)


def _rule(supremo: Rule, field: str, op: Operator, values: tuple[str, ...], cased: bool) -> Rule:
    detection = {"field": field, "op": op.value, "values": list(values), "cased": cased}
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    return Rule.model_validate({**data, "id": str(uuid.uuid4()), "detection": detection})


# Golden files


@pytest.mark.parametrize("case", SIGMA_CASES, ids=lambda c: c.id)
def test_golden(case: Case) -> None:
    assert render_case(case) == (GOLDEN / case.path).read_text(encoding="utf-8")


@pytest.mark.parametrize("case", SIGMA_CASES, ids=lambda c: c.id)
def test_golden_parses_and_validates(
    case: Case, supremo: Rule, tmp_path: Path, validator: Validators
) -> None:
    text = (GOLDEN / case.path).read_text(encoding="utf-8")
    collection = _check(text, supremo, tmp_path, validator)
    expected = 2 if case.format == "filters" and case.site else 0
    assert len(collection.filters) == expected
    for sigma_filter in collection.filters:
        assert isinstance(sigma_filter, SigmaFilter)
        assert [r.reference for r in sigma_filter.filter.rules] == [str(sigma_id(supremo))]
    # pySigma applies each filter to the rule it names, in the rule's condition.
    (condition,) = collection[0].detection.condition
    assert condition.count(") and (not ") == expected


def test_site_rule_keeps_expressible_exclusions_whole(
    supremo: Rule, supremo_site: rmmdetect.Site
) -> None:
    rendering = rmmdetect.convert(supremo, "sigma", site=supremo_site, unsupported="collect")
    detection = yaml.safe_load(rendering.text)["detection"]
    assert detection["condition"] == "selection and not 1 of filter_*"
    assert sorted(detection) == [
        "condition",
        "filter_legitimate_supremo_agent_installation",
        "filter_supremo_used_for_software_deployment",
        "selection",
    ]
    assert detection["filter_supremo_used_for_software_deployment"] == {
        "Image|endswith": "\\sremo.exe",
        "Hashes|contains": "SHA1=89e6c98d92887913cadf06b2adb97f26cde4849b",
    }
    left_out = [n.message for n in rendering.notes if n.kind is rmmdetect.NoteKind.UNSUPPORTED]
    assert len(left_out) == 3
    assert all("event.id" in m or "destination.ip" in m for m in left_out)
    with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"event\.id"):
        rmmdetect.render(supremo, "sigma", site=supremo_site)


def test_aggregation_and_window_render_under_the_default_policy(supremo: Rule) -> None:
    rendering = rmmdetect.convert(supremo, "sigma")
    notes = [str(note) for note in rendering.notes]
    assert any(n.startswith("approximated: window 5d") for n in notes)
    assert any(n.startswith("approximated: aggregation by host.id, host.name") for n in notes)
    assert any("has: rendered as Signature|contains" in n for n in notes)


# The catalog


@pytest.mark.parametrize("has_regex", [False, True], ids=["contains", "regex"])
@pytest.mark.parametrize("fmt", ["rule", "filters"])
@pytest.mark.parametrize("with_site", [False, True], ids=["bare", "site"])
def test_every_catalog_rule_parses_and_validates(
    catalog: Catalog,
    supremo_site: rmmdetect.Site,
    tmp_path: Path,
    validator: Validators,
    fmt: str,
    with_site: bool,
    has_regex: bool,
) -> None:
    site = supremo_site if with_site else None
    for rule in catalog:
        rendering = rmmdetect.convert(
            rule, "sigma", fmt, site=site, unsupported="collect", has_regex=has_regex
        )
        _check(rendering.text, rule, tmp_path, validator)


def test_join_is_one_yaml_stream(catalog: Catalog, supremo_site: rmmdetect.Site) -> None:
    backend = rmmdetect.registry.get_backend("sigma")
    for fmt in backend.formats:
        texts = [
            rmmdetect.convert(rule, "sigma", fmt, site=supremo_site, unsupported="collect").text
            for rule in catalog
        ]
        joined = backend.join(texts + texts[:1], fmt)
        collection = SigmaCollection.from_yaml(joined, collect_errors=True)
        assert not [error for item in collection for error in item.errors]
        rules = [item for item in collection if isinstance(item, SigmaRule)]
        assert len(rules) == len(texts) + 1
        assert not [error for item in collection.filters for error in item.errors]


# Operators and values


@pytest.mark.parametrize("cased", [False, True], ids=["nocase", "cased"])
@pytest.mark.parametrize("count", [1, 3], ids=["one", "anyof"])
@pytest.mark.parametrize("op", list(Operator), ids=str)
@pytest.mark.parametrize("has_regex", [False, True], ids=["contains", "regex"])
def test_every_operator_parses_and_validates(
    supremo: Rule,
    tmp_path: Path,
    validator: Validators,
    op: Operator,
    count: int,
    cased: bool,
    has_regex: bool,
) -> None:
    values = tuple(f"Nanosystems {i}" for i in range(count))
    rule = _rule(supremo, "file.code_signature.subject_name", op, values, cased)
    text = rmmdetect.render(rule, "sigma", has_regex=has_regex)
    collection = _check(text, rule, tmp_path, validator)
    (item,) = _items(collection[0])
    assert item.field == "Signature"
    if op is Operator.HAS and has_regex:
        assert [value.regexp.original for value in item.value] == [
            term_regex(value, cased) for value in values
        ]
        return
    assert (SigmaCaseSensitiveModifier in item.modifiers) is cased
    assert [value.s for value in item.value] == [_PARTS[op](value) for value in values]


@pytest.mark.parametrize("op", list(Operator), ids=str)
def test_process_name_is_the_last_element_of_image(
    supremo: Rule, tmp_path: Path, validator: Validators, op: Operator
) -> None:
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    data["data"] = {"category": "process"}
    rule = _rule(Rule.model_validate(data), "process.name", op, ("sremo.exe",), False)
    rendering = rmmdetect.convert(rule, "sigma")
    (item,) = _items(_check(rendering.text, rule, tmp_path, validator)[0])
    assert item.field == "Image"
    exact = op in (Operator.EQUALS, Operator.ENDSWITH)
    superset = [n for n in rendering.notes if "process.name" in n.message]
    assert bool(superset) is not exact


_NEGATED = [
    *((Operator(op), "process.name", ("sremo.exe",)) for op in Operator),
    (Operator.EQUALS, "process.hash.sha1", ("ab12", "ab" * 20)),
]
"""Matches whose plain form on a name or a hash can be a superset (a hash's other operators
are exact or have no Sigma form)."""


@pytest.mark.parametrize(
    ("op", "field", "values"), _NEGATED, ids=[f"{f}-{op}" for op, f, _ in _NEGATED]
)
def test_a_negated_match_is_never_a_superset(
    supremo: Rule,
    tmp_path: Path,
    validator: Validators,
    op: Operator,
    field: str,
    values: tuple[str, ...],
) -> None:
    """Under a ``not``, a name or a partial hash renders exactly, with no note.

    A name takes an ``|re`` on the path's last element where its plain form is a superset; a
    hash ``equals`` keeps only its whole hashes, the only ones Sysmon writes.
    """
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    data["data"] = {"category": "process"}
    plain = _rule(Rule.model_validate(data), field, op, values, False)
    rule = plain.model_copy(update={"detection": Not(not_=plain.detection)})
    positive = rmmdetect.convert(plain, "sigma")
    rendering = rmmdetect.convert(rule, "sigma")
    (item,) = _items(_check(rendering.text, rule, tmp_path, validator)[0])
    assert not [n for n in rendering.notes if field in n.message]
    noted = bool([n for n in positive.notes if field in n.message])
    if field == "process.name":
        assert all(isinstance(v, SigmaRegularExpression) for v in item.value) is noted
    else:
        assert noted
        assert item.value == [SigmaString("*SHA1=" + "ab" * 20 + "*")]


_NAME = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="\\"))


@given(
    folders=st.lists(_NAME, max_size=3),
    name=_NAME,
    needle=_NAME.filter(bool),
    op=st.sampled_from(list(Operator)),
    cased=st.booleans(),
    embed=st.booleans(),
)
def test_name_regex_matches_the_last_element_as_the_evaluator_does(
    folders: list[str], name: str, needle: str, op: Operator, cased: bool, embed: bool
) -> None:
    # Half the time the needle is in the name, swapped in case, or in a folder's name.
    if embed:
        name = name + needle.swapcase() + name
        folders = [*folders, needle]
    path = "\\".join(["C:", *folders, name])
    match = Match(field="process.name", op=op, values=(needle,), cased=cased)
    found = re.search(name_regex(op, needle, cased), path) is not None
    assert found is matches(match, {"process.name": name}), path


@given(value=TEXT, op=st.sampled_from(list(Operator)), cased=st.booleans())
def test_any_string_reads_back_unchanged(
    supremo: Rule, value: str, op: Operator, cased: bool
) -> None:
    rule = _rule(supremo, "file.code_signature.subject_name", op, (value,), cased)
    collection = SigmaCollection.from_yaml(rmmdetect.render(rule, "sigma"))
    (item,) = _items(collection[0])
    (parsed,) = item.value
    assert isinstance(parsed, SigmaString)
    assert parsed.s == _PARTS[op](value)


@given(value=TEXT, cased=st.booleans())
def test_any_string_reads_back_as_the_has_regex(supremo: Rule, value: str, cased: bool) -> None:
    rule = _rule(supremo, "file.code_signature.subject_name", Operator.HAS, (value,), cased)
    collection = SigmaCollection.from_yaml(rmmdetect.render(rule, "sigma", has_regex=True))
    (item,) = _items(collection[0])
    (parsed,) = item.value
    assert isinstance(parsed, SigmaRegularExpression)
    assert parsed.regexp.original == term_regex(value, cased)


@given(before=ASCII, needle=ASCII.filter(bool), after=ASCII, other=ASCII, cased=st.booleans())
def test_has_regex_matches_as_the_evaluator_does(
    before: str, needle: str, after: str, other: str, cased: bool
) -> None:
    pattern = re.compile(term_regex(needle, cased))
    for text in (before + needle + after, before + needle.swapcase() + after, other):
        assert (pattern.search(text) is not None) is term_match(text, needle, cased), text


# What Sigma cannot express


def test_an_unsupported_leaf_leaves_its_whole_exclusion_out(supremo: Rule) -> None:
    exclusion = rmmdetect.model.Exclusion.model_validate(
        {
            "name": "Known installer",
            "description": "The approved installer.",
            "condition": {
                "all": [
                    {"field": "process.name", "op": "equals", "value": "msiexec.exe"},
                    {"field": "file.code_signature.issuer", "op": "equals", "value": "x"},
                ]
            },
        }
    )
    rule = supremo.model_copy(update={"exclusions": (exclusion,)})
    with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"code_signature\.issuer"):
        rmmdetect.render(rule, "sigma")
    for fmt in ("rule", "filters"):
        rendering = rmmdetect.convert(rule, "sigma", fmt, unsupported="collect")
        assert "msiexec" not in rendering.text
        assert "Known installer" in rendering.text  # still listed as a false positive
        kinds = [note.kind for note in rendering.notes]
        assert kinds.count(rmmdetect.NoteKind.UNSUPPORTED) == 1


def test_a_detection_without_sigma_field_raises_under_every_policy(supremo: Rule) -> None:
    rule = _rule(supremo, "event.id", Operator.EQUALS, ("1",), False)
    for policy in ("raise", "warn", "collect"):
        with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"event\.id"):
            rmmdetect.convert(rule, "sigma", unsupported=policy)


def test_has_regex_takes_a_boolean(supremo: Rule) -> None:
    assert "|re" in rmmdetect.render(supremo, "sigma", has_regex="true")
    with pytest.raises(rmmdetect.RmmdetectError, match=r"has_regex=.maybe.*allowed"):
        rmmdetect.render(supremo, "sigma", has_regex="maybe")


# Smoke check on a second engine


@pytest.mark.parametrize("has_regex", [False, True], ids=["contains", "regex"])
def test_sqlite_backend_runs_the_rule(supremo: Rule, has_regex: bool) -> None:
    text = rmmdetect.render(supremo, "sigma", has_regex=has_regex)
    (query,) = sqliteBackend().convert(SigmaCollection.from_yaml(text))
    database = sqlite3.connect(":memory:")
    database.create_function("REGEXP", 2, lambda p, v: v is not None and bool(re.search(p, v)))
    database.execute("CREATE TABLE logs (Signature TEXT COLLATE NOCASE)")
    signers = ["Nanosystems S.r.l.", "Microsoft Windows", "NotNanosystems S.R.L.x"]
    database.executemany("INSERT INTO logs VALUES (?)", [(s,) for s in signers])
    found = [row[0] for row in database.execute(query)]
    assert found == (["Nanosystems S.r.l."] if has_regex else [signers[0], signers[2]])


# Condition trees

_SIGNER = "file.code_signature.subject_name"
_TREES = {
    "or-of-ands": (
        {
            "any": [
                {
                    "all": [
                        {"field": _SIGNER, "op": "has", "value": "Nanosystems"},
                        {"field": "process.name", "op": "equals", "value": "sremo.exe"},
                    ]
                },
                {"field": _SIGNER, "op": "equals", "value": "Nanosystems S.R.L."},
            ]
        },
        "selection",
    ),
    "same-key": (
        {
            "all": [
                {"field": _SIGNER, "op": "contains", "value": "Nano"},
                {"field": _SIGNER, "op": "contains", "value": "systems"},
            ]
        },
        "selection",
    ),
    "not": (
        {
            "all": [
                {"field": _SIGNER, "op": "contains", "value": "Nano"},
                {"not": {"field": "process.name", "op": "equals", "value": "explorer.exe"}},
            ]
        },
        "selection_1 and not selection_2",
    ),
}


@pytest.mark.parametrize("tree", list(_TREES))
def test_condition_trees_parse_and_validate(
    supremo: Rule, tmp_path: Path, validator: Validators, tree: str
) -> None:
    detection, condition = _TREES[tree]
    exclusion = {"name": "Approved copy", "description": "d", "condition": detection}
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    rule = Rule.model_validate({**data, "detection": detection, "exclusions": [exclusion]})
    text = rmmdetect.render(rule, "sigma")
    parsed = yaml.safe_load(text)["detection"]
    assert parsed["condition"].startswith(_group(condition) + " and not ")
    _check(text, rule, tmp_path, validator)
    _check(rmmdetect.render(rule, "sigma", "filters"), rule, tmp_path, validator)


def _group(condition: str) -> str:
    return f"({condition})" if " " in condition else condition


def test_file_names_are_unique_in_the_catalog(catalog: Catalog) -> None:
    names = [file_name(rule) for rule in catalog]
    assert len(set(names)) == len(names)
