"""The SPL backend: golden files, exact escaping, wildcard safety, contentctl as ESCU oracle.

No SPL parser or engine runs offline, so the search text is checked by golden files and by
reference readers written from Splunk's documented rules: a quoted value's only escapes are
``\\`` and ``\"``; ``*`` in a search term is always a wildcard; PCRE regexes (read back with
Python's ``re``, which agrees with PCRE on the constructs the backend emits) decide ``where``
and ``regex``. The ESCU format is validated and built by Splunk's contentctl.
"""

from __future__ import annotations

import doctest
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rmmdetect_backends.spl import backend, conditions, escu, fields, quoting
from rmmdetect_backends.spl.quoting import conf_value, quote, regex_literal, stanza_name

import rmmdetect
from conftest import GOLDEN
from golden_cases import CASES, Case, render_case
from oracles.contentctl import INSTALL, ContentApp, find_contentctl, read_conf
from rmmdetect import Catalog, Rule
from rmmdetect.evaluator import matches
from rmmdetect.loader import load_yaml_documents
from rmmdetect.model import Operator
from rmmdetect.registry import get_backend

SPL_CASES = [case for case in CASES if case.target == "spl"]
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
# A small alphabet makes collisions between values and texts likely; ASCII keeps case folding
# the same in Python's re, PCRE and str.lower.
SMALL = st.text(alphabet='aAb.*%_\\" \n-', min_size=1, max_size=6)
WILDCARD_FREE = [Operator.EQUALS, Operator.CONTAINS, Operator.STARTSWITH, Operator.ENDSWITH]
SIGNER = "file.code_signature.subject_name"


# Reference readers, written from the documented rules, not from the backend's code.


def unquote(text: str, start: int = 0) -> tuple[str, int]:
    """Read the SPL quoted value at ``text[start]``; return it and the index after its end."""
    assert text[start] == '"', f"no quoted value at {start}: {text[start:]!r}"
    value: list[str] = []
    index = start + 1
    while text[index] != '"':
        if text[index] == "\\" and text[index + 1] in '\\"':
            index += 1
        value.append(text[index])
        index += 1
    return "".join(value), index + 1


def quoted_values(query: str) -> list[tuple[str, str]]:
    """Return every quoted value of a search with the text just before it."""
    found: list[tuple[str, str]] = []
    index = 0
    while index < len(query):
        if query[index] == '"':
            value, end = unquote(query, index)
            found.append((query[max(0, index - 40) : index], value))
            index = end
        else:
            index += 1
    return found


def python_regex(pcre: str) -> re.Pattern[str]:
    """Translate the PCRE constructs the backend emits (``\\z``, ``\\x{..}``) for Python."""
    out: list[str] = []
    index = 0
    while index < len(pcre):
        char = pcre[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escaped = pcre[index + 1]
        if escaped == "z":
            out.append(r"\Z")
        elif escaped == "x" and pcre[index + 2] == "{":
            end = pcre.index("}", index)
            out.append(f"\\U{int(pcre[index + 3 : end], 16):08x}")
            index = end - 1
        else:
            out.append("\\" + escaped)
        index += 2
    return re.compile("".join(out))


def term_matches(pattern: str, text: str) -> bool:
    """SPL's ``field="pattern"``: whole value, case-insensitive, ``*`` matches any run."""
    parts = (re.escape(part) for part in pattern.lower().split("*"))
    return re.fullmatch(".*".join(parts), text.lower(), re.DOTALL) is not None


def _rule(supremo: Rule, detection: dict[str, object], aggregated: bool = True) -> Rule:
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    if not aggregated:
        data["aggregation"] = None
    return Rule.model_validate({**data, "id": str(uuid.uuid4()), "detection": detection})


def _leaf(op: Operator, values: list[str], cased: bool = False) -> dict[str, object]:
    return {"field": SIGNER, "op": op.value, "values": values, "cased": cased}


def _selects(query: str, text: str) -> bool:
    """Decide, from the rendered query alone, whether an event with Signature=text is kept."""
    base = query.split("\n")[1]
    terms = [v for before, v in quoted_values(base) if before.endswith(("Signature=", ", ", "("))]
    has_terms = "Signature IN (" in base or "Signature=" in base
    if has_terms and not any(term_matches(term, text) for term in terms):
        return False
    for line in query.split("\n")[2:]:
        pieces = quoted_values(line)
        if line.startswith("| where") or line.startswith("| regex"):
            (_, pcre), *_ = pieces
            if python_regex(pcre).search(text) is None:
                return False
    return True


# Golden files.


@pytest.mark.parametrize("case", SPL_CASES, ids=lambda c: c.id)
def test_golden(case: Case) -> None:
    assert render_case(case) == (GOLDEN / case.path).read_text(encoding="utf-8")


@pytest.mark.parametrize("module", [quoting, conditions, escu, fields, backend])
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_query_follows_the_seed(supremo: Rule, supremo_site: rmmdetect.Site) -> None:
    rendering = rmmdetect.convert(supremo, "spl", site=supremo_site, unsupported="collect")
    lines = rendering.text.splitlines()
    assert lines[1] == (
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=7 '
        'earliest=-5d latest=now Signature="*Nanosystems S.R.L.*"'
    )
    assert lines[-2] == (
        "| stats min(_time) as FirstSeen max(_time) as LastSeen values(RecordID) as Report "
        "count as Count by host"
    )
    kinds = [note.kind for note in rendering.notes]
    assert kinds == [rmmdetect.NoteKind.APPROXIMATED, rmmdetect.NoteKind.UNSUPPORTED]
    assert "destination.ip" in rendering.notes[1].message


def test_an_unsupported_leaf_drops_its_whole_exclusion(
    supremo: Rule, supremo_site: rmmdetect.Site
) -> None:
    with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"destination\.ip"):
        rmmdetect.render(supremo, "spl", site=supremo_site)
    text = rmmdetect.convert(supremo, "spl", site=supremo_site, unsupported="collect").text
    assert "SIEM" not in text
    assert "10.20.30.40" not in text
    assert "sremo.exe" in text


def test_has_regex_renders_has_exactly(supremo: Rule) -> None:
    rendering = rmmdetect.convert(supremo, "spl", has_regex="true")
    assert rmmdetect.NoteKind.APPROXIMATED not in [note.kind for note in rendering.notes]
    lines = rendering.text.splitlines()
    assert lines[1].endswith('Signature="*Nanosystems S.R.L.*"')  # the prefilter
    assert lines[2] == r'| regex Signature="(?i)(?<![A-Za-z0-9])Nanosystems\\ S\\.R\\.L\\."'


def test_a_bad_option_value_is_an_error(supremo: Rule) -> None:
    with pytest.raises(rmmdetect.RmmdetectError, match=r"has_regex=.maybe.*allowed"):
        rmmdetect.render(supremo, "spl", has_regex="maybe")
    query = rmmdetect.render(supremo, "spl", index="win*")
    assert query.splitlines()[1].startswith('index="win*" source=')


# Exact escaping.


@given(value=TEXT)
def test_quote_reads_back_unchanged_and_ends_where_it_should(value: str) -> None:
    quoted = quote(value)
    assert unquote(quoted) == (value, len(quoted))
    assert unquote(quoted + ' x="y"') == (value, len(quoted))


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("a", '"a"'), ('"', r'"\""'), ("\\", r'"\\"'), ('\\"', r'"\\\""'), ("*", '"*"')],
)
def test_quote_escapes_only_backslash_and_quote(value: str, quoted: str) -> None:
    assert quote(value) == quoted


@given(value=TEXT)
def test_regex_literal_matches_exactly_its_text(value: str) -> None:
    pattern = python_regex(r"\A" + regex_literal(value) + r"\z")
    assert pattern.match(value)
    assert "\n" not in regex_literal(value)
    assert not pattern.match(value + "x")


@given(name=TEXT)
def test_stanza_name_cannot_break_its_header(name: str) -> None:
    clean = stanza_name(name)
    assert "]" not in clean
    assert "\n" not in clean
    assert "\r" not in clean


@given(text=st.text(st.characters(exclude_categories=["Cs"]), max_size=80))
def test_conf_value_keeps_every_line_in_one_value(text: str) -> None:
    stanzas = read_conf(f"[s]\nkey = {conf_value(text)}\nnext = 1\n")
    assert stanzas["s"]["next"] == "1"
    assert list(stanzas["s"]) == ["key", "next"]


# Wildcard safety and meaning, checked against the reference evaluator.


@given(op=st.sampled_from(WILDCARD_FREE), value=TEXT)
def test_a_star_is_never_a_wildcard_for_a_wildcard_free_operator(
    supremo: Rule, op: Operator, value: str
) -> None:
    query = rmmdetect.render(_rule(supremo, _leaf(op, [value])), "spl")
    base = query.split("\n")[1]
    terms = [v for before, v in quoted_values(base) if before.endswith("Signature=")]
    if "*" in value:
        assert terms == []
        assert "| where (isnotnull(Signature) AND match(Signature, " in query
    for term in terms:
        stripped = term.removeprefix("*") if op in (Operator.CONTAINS, Operator.ENDSWITH) else term
        stripped = stripped.removesuffix("*") if op is not Operator.ENDSWITH else stripped
        assert stripped == value, "a search term holds the value and only the op's wildcards"
        assert "*" not in stripped


@given(
    op=st.sampled_from(list(Operator)),
    values=st.lists(SMALL, min_size=1, max_size=2),
    cased=st.booleans(),
    texts=st.lists(SMALL, min_size=1, max_size=4),
    has_regex=st.booleans(),
)
def test_the_query_selects_what_the_evaluator_selects(
    supremo: Rule,
    op: Operator,
    values: list[str],
    cased: bool,
    texts: list[str],
    has_regex: bool,
) -> None:
    rule = _rule(supremo, _leaf(op, values, cased))
    rendering = rmmdetect.convert(rule, "spl", has_regex=has_regex)
    searchable = not cased and all(quoting.search_safe(value) for value in values)
    superset = op is Operator.HAS and not has_regex and searchable
    assert bool(rendering.notes) == superset
    for text in [*texts, *values, *(f"x{v}Y" for v in values)]:
        expected = matches(rule.detection, {SIGNER: text})
        got = _selects(rendering.text, text)
        if superset:
            assert got or not expected
        else:
            assert got == expected, (rendering.text, text)


@given(value=SMALL, text=SMALL)
def test_an_exclusion_removes_what_the_evaluator_removes(
    supremo: Rule, value: str, text: str
) -> None:
    exclusion = {
        "name": "n",
        "description": "d",
        "condition": {"field": "process.name", "op": "contains", "value": value, "cased": True},
    }
    data = supremo.model_dump(by_alias=True)
    rule = Rule.model_validate({**data, "exclusions": [exclusion]})
    query = rmmdetect.render(rule, "spl")
    (where,) = [line for line in query.splitlines() if line.startswith("| where NOT")]
    (_, pcre), *_ = quoted_values(where)
    removed = python_regex(pcre).search(text) is not None
    assert removed == matches(rule.exclusions[0].condition, {"process.name": text})


# Formats.


def test_every_catalog_rule_renders_in_every_format(
    catalog: Catalog, supremo_site: rmmdetect.Site
) -> None:
    for rule in catalog:
        for fmt in ("query", "savedsearch", "escu"):
            for site in (None, supremo_site):
                text = rmmdetect.convert(rule, "spl", fmt, site=site, unsupported="collect").text
                assert text.endswith("\n")


@pytest.mark.parametrize("case", [c for c in SPL_CASES if c.format == "escu"], ids=lambda c: c.id)
def test_escu_is_strict_yaml_with_the_required_keys(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "detection.yml"
    path.write_text((GOLDEN / case.path).read_text(encoding="utf-8"), encoding="utf-8")
    detection, macro = (document.data for document in load_yaml_documents(path))
    required = {
        "name", "id", "version", "date", "author", "status", "type", "description",
        "data_source", "search", "how_to_implement", "known_false_positives", "references", "tags",
    }  # fmt: skip
    assert required <= set(detection)
    assert set(detection["tags"]) == {
        "analytic_story", "asset_type", "product", "security_domain", "mitre_attack_id"
    }  # fmt: skip
    assert detection["type"] == "Hunting"
    assert detection["search"].endswith(f"| `{macro['name']}`")
    assert macro["name"] == escu.snake_name(detection["name"]) + "_filter"


@pytest.mark.parametrize(
    "case", [c for c in SPL_CASES if c.format == "savedsearch"], ids=lambda c: c.id
)
def test_savedsearch_reads_back_as_the_query(case: Case) -> None:
    (stanza,) = read_conf((GOLDEN / case.path).read_text(encoding="utf-8")).values()
    query = render_case(Case(case.rule_file, "spl", "query", case.site, case.path))
    assert stanza["search"].replace(" \n", "\n") == query.split("\n", 1)[1].rstrip("\n")
    assert stanza["dispatch.earliest_time"] == "-5d"
    assert stanza["dispatch.latest_time"] == "now"


# contentctl, Splunk's own validator and builder of security_content.


@pytest.fixture(scope="module")
def contentctl() -> Path:
    executable = find_contentctl()
    if executable is None:
        pytest.fail(f"contentctl is not installed; install it with: {INSTALL}")
    return executable


def _variants(supremo: Rule) -> list[tuple[Rule, dict[str, str]]]:
    star = {
        "name": "Star in a value",
        "description": "d",
        "condition": {"field": "process.name", "op": "endswith", "value": 'a*"b\\'},
    }
    data = supremo.model_dump(by_alias=True)
    regex = {**data, "id": str(uuid.uuid4()), "name": "SupRemo signer, exact has"}
    plain = {
        **data,
        "id": str(uuid.uuid4()),
        "name": "SupRemo signer, events",
        "exclusions": [star],
    }
    plain["aggregation"] = None
    return [
        (Rule.model_validate(regex), {"has_regex": "true"}),
        (Rule.model_validate(plain), {}),
    ]


@pytest.mark.parametrize("with_site", [False, True], ids=["bare", "site"])
def test_contentctl_validates_and_builds_every_escu_detection(
    contentctl: Path,
    tmp_path: Path,
    catalog: Catalog,
    supremo: Rule,
    supremo_site: rmmdetect.Site,
    with_site: bool,
) -> None:
    site = supremo_site if with_site else None
    app = ContentApp(contentctl, tmp_path / "app")
    texts = [
        rmmdetect.convert(rule, "spl", "escu", site=site, unsupported="collect").text
        for rule in catalog
    ]
    texts += [rmmdetect.render(rule, "spl", "escu", **opts) for rule, opts in _variants(supremo)]
    pairs = app.add(get_backend("spl").join(texts, "escu"))
    validated = app.run("validate")
    assert validated.returncode == 0, validated.output
    built = app.run("build")
    assert built.returncode == 0, built.output
    macros = app.conf("macros.conf")
    searches = app.conf("savedsearches.conf")
    for detection, macro in pairs:
        assert macros[str(macro["name"])]["definition"] == macro["definition"]
        stanza = searches[f"ESCU - {detection['name']} - Rule"]
        assert stanza["search"].replace(" \n", "\n") == detection["search"]


def test_savedsearch_keys_are_those_contentctl_writes(
    contentctl: Path, tmp_path: Path, supremo: Rule
) -> None:
    app = ContentApp(contentctl, tmp_path / "app")
    (pair,) = app.add(rmmdetect.render(supremo, "spl", "escu"))
    built = app.run("build")
    assert built.returncode == 0, built.output
    theirs = app.conf("savedsearches.conf")[f"ESCU - {supremo.name} - Rule"]
    (ours,) = read_conf(rmmdetect.render(supremo, "spl", "savedsearch")).values()
    assert set(ours) <= set(theirs)
    own = {"description", "search", "dispatch.earliest_time", "dispatch.latest_time"}
    own |= {"action.correlationsearch.label", "action.correlationsearch.annotations"}
    own |= {"action.escu.mappings"}
    for key in set(ours) - own:
        assert ours[key] == theirs[key], key
    assert pair[0]["name"] == supremo.name


@given(name=TEXT, description=TEXT)
def test_any_name_and_description_keep_the_stanza_whole(
    supremo: Rule, name: str, description: str
) -> None:
    rule = supremo.model_copy(update={"name": name, "description": description})
    (stanza,) = read_conf(rmmdetect.render(rule, "spl", "savedsearch")).values()
    assert stanza["dispatch.earliest_time"] == "-5d"
    query = rmmdetect.render(rule, "spl").split("\n", 1)[1].rstrip("\n")
    assert stanza["search"].replace(" \n", "\n") == query


@given(name=TEXT, description=TEXT)
def test_any_name_and_description_give_strict_escu_yaml(
    supremo: Rule, tmp_path_factory: pytest.TempPathFactory, name: str, description: str
) -> None:
    rule = supremo.model_copy(update={"name": name, "description": description})
    path = tmp_path_factory.mktemp("escu") / "detection.yml"
    try:
        text = rmmdetect.render(rule, "spl", "escu")
    except rmmdetect.RmmdetectError as error:
        assert not 0 < len(escu.escu_name(name)) <= escu.MAX_NAME_LENGTH, error
        return
    path.write_text(text, encoding="utf-8")
    detection, macro = (document.data for document in load_yaml_documents(path))
    assert detection["description"] == description.strip()
    assert detection["search"].endswith(f"| `{macro['name']}`")
    assert re.fullmatch(r"[a-z0-9_]+_filter", macro["name"])
