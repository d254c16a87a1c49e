"""The EQL backend, checked by golden files and by Elastic's own EQL parser and engine (eql).

eql parses every output in Elasticsearch syntax against a schema built from the ECS field
reference. Its Python engine differs from Elasticsearch in two documented ways, which the
tests below account for explicitly: it folds case for every comparison unless
``eql.utils.CASE_INSENSITIVE`` is off, and it matches a regular expression at the start of the
string, where Elasticsearch (Lucene) matches the whole string.
"""

from __future__ import annotations

import json
import re
import tomllib
import uuid
from pathlib import Path
from typing import Any

import eql.utils
import pytest
from eql.parser import elasticsearch_syntax, ignore_missing_functions
from hypothesis import given
from hypothesis import strategies as st
from rmmdetect_backends.eql.events import EVENTS, emitted_fields

import eql
import rmmdetect
from conftest import GOLDEN
from engines.eql_python import nest
from golden_cases import CASES, Case
from rmmdetect import Catalog, Rule
from rmmdetect.evaluator import matches, term_match
from rmmdetect.model import Operator, iter_matches

ECS: dict[str, str] = json.loads(
    (Path(__file__).parent / "data" / "ecs_flat_types.json").read_text(encoding="utf-8")
)
EQL_TYPES = {"long": "number", "float": "number", "scaled_float": "number", "boolean": "boolean"}
SKIPPED_TYPES = {"object", "nested", "flattened"}
EQL_CASES = [case for case in CASES if case.target == "eql"]
FORMATS = ["query", "detection-rules", "kibana"]
SIGNER = "file.code_signature.subject_name"
SELECTION_FIELDS = {"host.os.type", "event.type", "network.protocol"}

# Any text but lone surrogates, which no UTF-8 rule file can hold.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


def _schema() -> eql.Schema:
    fields: dict[str, Any] = {}
    for name, kind in ECS.items():
        if kind in SKIPPED_TYPES or not re.fullmatch(r"[a-z_][a-z0-9_.]*", name):
            continue
        *path, leaf = name.split(".")
        node = fields
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = EQL_TYPES.get(kind, "string")
    return eql.Schema({"process": fields, "network": fields})


SCHEMA = _schema()


def parse(query: str) -> eql.ast.PipedQuery:
    """Parse as Elasticsearch does, against ECS; an unknown field or bad syntax raises."""
    with SCHEMA, elasticsearch_syntax, ignore_missing_functions:
        return eql.parse_query(query)


def strings(query: eql.ast.PipedQuery) -> list[str]:
    """Every string literal of the query but those of the event selection."""
    selection = {
        id(node.right)
        for node in query
        if isinstance(node, eql.ast.Comparison) and node.left.render() in SELECTION_FIELDS
    }
    return [n.value for n in query if isinstance(n, eql.ast.String) and id(n) not in selection]


def queries(text: str, fmt: str) -> list[str]:
    """The EQL queries inside an output of a format."""
    if fmt == "query":
        return [text]
    if fmt == "detection-rules":
        return [tomllib.loads(text)["rule"]["query"]]
    return [json.loads(line)["query"] for line in text.splitlines()]


def _rule(
    supremo: Rule, op: Operator, values: tuple[str, ...], cased: bool = False, field: str = SIGNER
) -> Rule:
    detection = {"field": field, "op": op.value, "values": list(values), "cased": cased}
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    return Rule.model_validate({**data, "id": str(uuid.uuid4()), "detection": detection})


def run(query: eql.ast.PipedQuery, events: list[dict[str, Any]], cased: bool) -> list[int]:
    """Run a query over process start events (canonical ECS names) with eql's Python engine.

    Elasticsearch matches a regex against the whole string; eql's engine only at its start, so
    each regex is anchored at the end here. Case folding is switched off for cased queries.
    """
    for node in query:
        if isinstance(node, eql.ast.FunctionCall) and node.name == "match":
            node.arguments[1:] = [eql.ast.String(rf"(?:{a.value})\Z") for a in node.arguments[1:]]
    base = {"host.os.type": "windows", "event.type": "start"}
    inputs = [
        eql.Event("process", 0, nest({**base, "number": n, **event}))
        for n, event in enumerate(events)
    ]
    previous = eql.utils.CASE_INSENSITIVE
    eql.utils.CASE_INSENSITIVE = not cased
    try:
        return [hit.events[0].data["number"] for hit in eql.get_engine(query)(inputs)]
    finally:
        eql.utils.CASE_INSENSITIVE = previous


def _process_events(rule: Rule, texts: list[str]) -> list[dict[str, Any]]:
    (match,) = iter_matches(rule.detection)
    column = EVENTS[rule.data.category][0].fields[match.field]
    return [{column: text} for text in texts]


# Golden files (test_kql.test_golden compares every golden case with its rendering).


@pytest.mark.parametrize("case", EQL_CASES, ids=lambda c: c.id)
def test_golden_queries_parse_against_ecs(case: Case) -> None:
    for query in queries((GOLDEN / case.path).read_text(encoding="utf-8"), case.format):
        parsed = parse(query)
        assert "Nanosystems S.R.L." in " ".join(strings(parsed))


def test_query_reads_like_elastics_rmm_signer_rule(supremo: Rule) -> None:
    query = rmmdetect.render(supremo, "eql")
    assert 'process where host.os.type == "windows" and event.type == "start" and\n' in query
    assert '  process.code_signature.subject_name : "*Nanosystems S.R.L.*"' in query
    assert query.startswith("/* Remote Management and Monitoring tool - SupRemo")
    assert "Absent from EQL: the lookback window (5d" in query


def test_query_declares_window_aggregation_and_has_as_approximated(supremo: Rule) -> None:
    notes = rmmdetect.convert(supremo, "eql").notes
    messages = [note.message for note in notes if note.kind is rmmdetect.NoteKind.APPROXIMATED]
    assert [message.split(" ")[0] for message in messages] == ["has", "window:", "aggregation:"]


@pytest.mark.parametrize("case", [c for c in EQL_CASES if c.format == "detection-rules"], ids=str)
def test_detection_rules_toml_reads_back(case: Case) -> None:
    document = tomllib.loads((GOLDEN / case.path).read_text(encoding="utf-8"))
    assert set(document["metadata"]) == {"creation_date", "integration", "maturity", "updated_date"}
    rule = document["rule"]
    assert rule["type"] == rule["language"] == "eql"
    assert rule["rule_id"] == str(uuid.UUID(rule["rule_id"]))
    assert rule["from"] == "now-5d"
    assert rule["index"] == ["logs-endpoint.events.process-*"]
    assert rule["alert_suppression"] == {
        "group_by": ["host.id", "host.name"],
        "duration": {"value": 120, "unit": "h"},
        "missing_fields_strategy": "doNotSuppress",
    }
    (threat,) = rule["threat"]
    assert threat["tactic"]["id"] == "TA0011"
    assert [t["id"] for t in threat["technique"]] == ["T1219"]


@pytest.mark.parametrize("case", [c for c in EQL_CASES if c.format == "kibana"], ids=str)
def test_kibana_ndjson_is_one_importable_object_a_line(case: Case) -> None:
    (line,) = (GOLDEN / case.path).read_text(encoding="utf-8").splitlines()
    rule = json.loads(line)
    assert rule["enabled"] is False
    assert {
        "rule_id",
        "name",
        "description",
        "query",
        "index",
        "risk_score",
        "severity",
        "threat",
        "from",
        "interval",
        "alert_suppression",
    } <= rule.keys()
    assert rule["alert_suppression"]["duration"] == {"value": 120, "unit": "h"}


def test_rule_id_is_stable_and_derived(supremo: Rule) -> None:
    first = tomllib.loads(rmmdetect.render(supremo, "eql", "detection-rules"))["rule"]["rule_id"]
    again = json.loads(rmmdetect.render(supremo, "eql", "kibana"))["rule_id"]
    assert first == again != str(supremo.id)


# ECS.


def test_every_field_the_backend_can_emit_is_in_ecs() -> None:
    missing = sorted(name for name in emitted_fields() if name not in ECS)
    assert not missing, f"not ECS fields: {missing}"


# Operators.


@pytest.mark.parametrize("cased", [False, True], ids=["nocase", "cased"])
@pytest.mark.parametrize("count", [1, 3], ids=["one", "anyof"])
@pytest.mark.parametrize("op", list(Operator), ids=str)
def test_every_operator_parses_and_runs_like_the_evaluator(
    supremo: Rule, op: Operator, count: int, cased: bool
) -> None:
    values = tuple(f"Nano{i}" for i in range(count))
    rule = _rule(supremo, op, values, cased)
    text = rmmdetect.render(rule, "eql")
    parsed = parse(text)
    operators = {False: (":", "in~"), True: ("==", "in", "like")}[cased]
    assert text.split("subject_name ")[1].split(" ")[0] in operators
    texts = ["Nano0", "nano1", "xNano2", "Nano2 S.p.A.", "Nano22", "nano", "ANano0Z", "Nano1.x"]
    expected = [n for n, t in enumerate(texts) if matches(rule.detection, {SIGNER: t})]
    hits = run(parsed, _process_events(rule, texts), cased)
    if op is Operator.HAS:
        assert set(expected) <= set(hits)  # a superset, as declared
    else:
        assert hits == expected


@pytest.mark.parametrize("op", [o for o in Operator if o is not Operator.HAS], ids=str)
@pytest.mark.parametrize("value", ["a*b", "a?b", "back\\slash*", "\x01x"], ids=repr)
def test_values_a_wildcard_cannot_hold_match_exactly(
    supremo: Rule, op: Operator, value: str
) -> None:
    rule = _rule(supremo, op, (value, "plain"))
    parsed = parse(rmmdetect.render(rule, "eql"))
    texts = [value, "aXb", "a" + value + "z", value + "z", "z" + value, "plain", "PLAIN"]
    expected = [n for n, t in enumerate(texts) if matches(rule.detection, {SIGNER: t})]
    assert run(parsed, _process_events(rule, texts), cased=False) == expected


# Any value a wildcard cannot hold, and both cases, through the engine.

SPECIALS = st.text(st.sampled_from("aB1*?\\\x01 é"), min_size=1, max_size=4)


@given(value=SPECIALS, texts=st.lists(st.text(st.sampled_from("aAbB1*?\\\x01 éx"), max_size=8)))
@pytest.mark.parametrize("cased", [False, True], ids=["nocase", "cased"])
@pytest.mark.parametrize("op", list(Operator), ids=str)
def test_engine_agrees_with_the_evaluator(
    supremo: Rule, op: Operator, cased: bool, value: str, texts: list[str]
) -> None:
    rule = _rule(supremo, op, (value, "a*"), cased)
    hits = run(parse(rmmdetect.render(rule, "eql")), _process_events(rule, texts), cased)
    expected = [n for n, t in enumerate(texts) if matches(rule.detection, {SIGNER: t})]
    if op is Operator.HAS:
        assert set(expected) <= set(hits)  # a superset, as declared
    else:
        assert hits == expected


# Values.


@given(value=TEXT)
def test_any_string_reads_back_unchanged(supremo: Rule, value: str) -> None:
    rule = _rule(supremo, Operator.EQUALS, (value,), cased=True)
    assert strings(parse(rmmdetect.render(rule, "eql"))) == [value]
    site = rmmdetect.Site(placeholders={"legitimate_supremo_msi_hash": value})
    for fmt in FORMATS:
        (query,) = queries(rmmdetect.render(supremo, "eql", fmt, site=site), fmt)
        assert value in strings(parse(query))


@given(name=TEXT)
def test_any_rule_or_exclusion_name_stays_in_its_comment(supremo: Rule, name: str) -> None:
    exclusion = supremo.exclusions[0].model_copy(update={"name": name})
    rule = supremo.model_copy(update={"name": name, "exclusions": (exclusion,)})
    site = rmmdetect.Site(placeholders={"legitimate_supremo_msi_hash": "abc"})
    for fmt in FORMATS:
        (query,) = queries(rmmdetect.render(rule, "eql", fmt, site=site), fmt)
        assert strings(parse(query)) == ["*Nanosystems S.R.L.*", "msiexec.exe", "abc"]


# has as a regex.

WORDS = st.text(st.sampled_from('aAbB1 .-_*?\\"é\n'), min_size=1, max_size=6)


@given(needle=WORDS, texts=st.lists(st.text(st.sampled_from('aAbB1 .-_*?\\"é\nx'), max_size=12)))
@pytest.mark.parametrize("cased", [False, True], ids=["nocase", "cased"])
def test_has_regex_matches_like_term_match(
    supremo: Rule, cased: bool, needle: str, texts: list[str]
) -> None:
    rule = _rule(supremo, Operator.HAS, (needle,), cased)
    text = rmmdetect.render(rule, "eql", has_regex=True)
    assert f"subject_name {'regex' if cased else 'regex~'} " in text
    expected = [n for n, t in enumerate(texts) if term_match(t, needle, cased)]
    assert run(parse(text), _process_events(rule, texts), cased) == expected


@given(needle=WORDS, texts=st.lists(st.text(st.sampled_from('aAbB1 .-_*?\\"é\nx'), max_size=12)))
def test_negated_has_is_exact_even_without_the_option(
    supremo: Rule, needle: str, texts: list[str]
) -> None:
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    has = {"field": SIGNER, "op": "has", "value": needle}
    detection = {"all": [{"field": SIGNER, "op": "contains", "value": "a"}, {"not": has}]}
    rule = Rule.model_validate({**data, "detection": detection})
    text = rmmdetect.render(rule, "eql")
    assert "regex~" in text
    events = [{"process.code_signature.subject_name": t} for t in texts]
    expected = [n for n, t in enumerate(texts) if matches(rule.detection, {SIGNER: t})]
    assert run(parse(text), events, cased=False) == expected


def test_has_regex_declares_no_approximation(supremo: Rule) -> None:
    notes = rmmdetect.convert(supremo, "eql", "detection-rules", has_regex=True).notes
    assert not [note for note in notes if "has on" in note.message]


# What EQL over Elastic Defend cannot express.


@pytest.mark.parametrize("name", ["a*/b", "a/*b", "*/*/", "//**//", "x\n*/y"], ids=repr)
def test_names_never_open_or_close_a_comment(supremo: Rule, name: str) -> None:
    rule = supremo.model_copy(update={"name": name, "exclusions": ()})
    header = rmmdetect.render(rule, "eql").splitlines()[0]
    assert header.startswith("/* ") and header.endswith(" */")
    assert "/*" not in header[2:-2] and "*/" not in header[2:-2]


def test_exclusion_on_a_field_the_events_lack_follows_the_policy(supremo: Rule) -> None:
    site = rmmdetect.Site(placeholders={"siem_server_ip": "10.0.0.5"})
    with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"destination\.ip"):
        rmmdetect.render(supremo, "eql", site=site)
    collected = rmmdetect.convert(supremo, "eql", site=site, unsupported="collect")
    assert "10.0.0.5" not in collected.text
    assert "Left out: exclusion 'SupRemo Integration with SIEM" in collected.text
    kinds = [note.kind for note in collected.notes]
    assert rmmdetect.NoteKind.UNSUPPORTED in kinds


def test_ip_fields_take_equality_only(supremo: Rule) -> None:
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    network = {**data, "data": {"category": "network"}}
    for op, fails in [(Operator.EQUALS, False), (Operator.STARTSWITH, True)]:
        detection = {"field": "destination.ip", "op": op.value, "values": ["10.0.0.5", "10.0.0.6"]}
        rule = Rule.model_validate({**network, "detection": detection})
        if fails:
            with pytest.raises(rmmdetect.UnsupportedFeatureError):
                rmmdetect.render(rule, "eql")
            continue
        text = rmmdetect.render(rule, "eql")
        assert 'destination.ip in ("10.0.0.5", "10.0.0.6")' in text
        assert text.count("network where") == 1
        parse(text)


def test_domains_read_dns_lookups(supremo: Rule) -> None:
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    detection = {"field": "destination.domain", "op": "endswith", "value": ".supremocontrol.com"}
    rule = Rule.model_validate({**data, "data": {"category": "network"}, "detection": detection})
    text = rmmdetect.render(rule, "eql")
    assert 'network.protocol == "dns" and\n  dns.question.name : "*.supremocontrol.com"' in text
    parse(text)


# The catalog.


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("with_site", [False, True], ids=["bare", "site"])
def test_every_catalog_rule_renders_to_eql_that_parses(
    catalog: Catalog, supremo_site: rmmdetect.Site, fmt: str, with_site: bool
) -> None:
    site = supremo_site if with_site else None
    for rule in catalog:
        rendering = rmmdetect.convert(rule, "eql", fmt, site=site, unsupported="collect")
        for query in queries(rendering.text, fmt):
            parse(query)
