"""Execution equivalence: every rendered rule, run on a real engine, keeps what the reference keeps.

For each target with an engine (tests/engines), catalog rules and hypothesis-generated rules are
rendered, run over generated events (tests/engines/events.py) and compared with
:func:`rmmdetect.evaluate`: the kept events, and for an engine that aggregates the summarised
rows, must be equal; where the backend declares a superset for a construct the rule uses and
the rendering says it approximated, the engine's kept events must contain the reference's.
Known engine differences are in docs/engines.md and asserted at the end of this file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import rmmdetect
from engines import ENGINES, Engine, normalise_rows
from engines.events import _TEXT, NOW, Event, events, sites
from rmmdetect import Rule, Site, UnsupportedFeatureError
from rmmdetect.backend import Fidelity, NoteKind, Rendering
from rmmdetect.evaluator import matches as holds
from rmmdetect.model import (
    DataRequirement,
    Exclusion,
    Match,
    Not,
    iter_matches,
)
from rmmdetect.registry import get_backend
from rmmdetect.site import resolve
from strategies import conditions, matches, placeholders, rules

CATALOG = rmmdetect.load_catalog()
AGGREGATION_FIELDS = ("host.id", "host.name", "@timestamp", "event.id")
"""Fields every generated event carries, so that grouping and summaries are comparable."""


def used_keys(rule: Rule) -> set[str]:
    """Return the fidelity keys a rule exercises."""
    conditions_ = [rule.detection, *(x.condition for x in rule.exclusions)]
    leaves: list[Match] = [m for c in conditions_ for m in iter_matches(c)]
    keys = {str(m.op) for m in leaves} | {"window"}
    keys |= {"any-of"} if any(len(m.values) > 1 for m in leaves) else set()
    keys |= {"cased"} if any(m.cased for m in leaves) else set()
    keys |= {"aggregation"} if rule.aggregation else set()
    keys |= {"exclusions"} if rule.exclusions else set()
    return keys


_OUTSIDE_QUERY = ("window", "aggregation")
"""What an engine that does not aggregate takes outside the query: the search's time range
applies the window and the events come one by one; those keys' notes decide nothing here."""


def declared_superset(engine: Engine, rule: Rule, rendering: Rendering) -> bool:
    """Tell whether the backend declared a superset for this rule and the rendering says so."""
    fidelity = get_backend(engine.target).fidelity
    keys = used_keys(rule) - (set() if engine.aggregates else set(_OUTSIDE_QUERY))
    notes = [n for n in rendering.notes if n.kind is NoteKind.APPROXIMATED]
    if not engine.aggregates:
        notes = [n for n in notes if not n.message.startswith(_OUTSIDE_QUERY)]
    return bool(notes) and any(fidelity.get(key) is Fidelity.SUPERSET for key in keys)


def expressible(engine: Engine, rule: Rule, options: Mapping[str, Any]) -> Rule:
    """Return the rule with only the exclusions the target can express.

    An exclusion the target cannot express is left out of the rendering with an
    ``unsupported`` note; the reference must then leave it out too.
    """
    kept = []
    for exclusion in rule.exclusions:
        single = rule.model_copy(update={"exclusions": (exclusion,)})
        rendering = rmmdetect.convert(
            single, engine.target, engine.format, unsupported="collect", **options
        )
        if all(note.kind is not NoteKind.UNSUPPORTED for note in rendering.notes):
            kept.append(exclusion)
    return rule.model_copy(update={"exclusions": tuple(kept)})


def check(
    engine: Engine, rule: Rule, site: Site, drawn: Sequence[Event], options: Mapping[str, Any]
) -> None:
    """Render, run and compare one rule over one set of events."""
    resolved = expressible(engine, resolve(rule, site).rule, options)
    rendering = rmmdetect.convert(resolved, engine.target, engine.format, **options)
    prepared = engine.prepare(resolved, drawn)
    reference = rmmdetect.evaluate(resolved, prepared, now=NOW)
    position = {id(event): index for index, event in enumerate(prepared)}
    expected = frozenset(position[id(event)] for event in reference.kept)

    plain = resolved.model_copy(update={"aggregation": None})
    text = rmmdetect.convert(plain, engine.target, engine.format, **options).text
    queries = [(plain, text)]
    if engine.aggregates and resolved.aggregation is not None:
        queries.append((resolved, rendering.text))
    outcomes = engine.run(queries, prepared, NOW)
    kept = outcomes[0][0]
    if declared_superset(engine, resolved, rendering):
        assert kept >= expected, f"{engine.name} lost events of a declared superset\n{text}"
        return
    assert kept == expected, f"{engine.name} kept {sorted(kept)}, reference {sorted(expected)}"
    if len(outcomes) > 1:
        rows = outcomes[1][1]
        assert normalise_rows(resolved, rows) == normalise_rows(resolved, reference.rows)


# Each catalog rule gets a few examples in the fast profile (the catalog holds some 200 rules)
# and many in the deep one; the generated-rule test below takes the profile's full count. The
# site is fixed per rule (each placeholder a list of two), so each rule renders one text.
def _option_id(options: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in options.items()) or "default"


ENGINE_CASES = [
    pytest.param(engine, options, id=f"{target}-{_option_id(options)}")
    for target, engine in ENGINES.items()
    for options in engine.options
]


def _catalog_test(target: str) -> Callable[..., None]:
    """One test per target over the catalog's rules.

    Hypothesis (6.170, with CI=true) fails with a RecursionError once one parametrized @given
    function has run about 950 cases, so the catalog cases are split by target.
    """
    engine = ENGINES[target]
    cases = [
        pytest.param(options, rule, id=f"{_option_id(options)}-{rule.name}")
        for options in engine.options
        for rule in CATALOG
    ]

    @pytest.mark.parametrize(("options", "rule"), cases)
    @settings(max_examples=max(3, settings().max_examples // 20))
    @given(data=st.data())
    def test(options: Mapping[str, Any], rule: Rule, data: st.DataObject) -> None:
        site = data.draw(sites(rule, lists=True), label="site")
        drawn = data.draw(events(resolve(rule, site).rule), label="events")
        check(engine, rule, site, drawn, options)

    return test


test_catalog_rule_runs_as_the_reference_on_kql = _catalog_test("kql")
test_catalog_rule_runs_as_the_reference_on_eql = _catalog_test("eql")
test_catalog_rule_runs_as_the_reference_on_sigma = _catalog_test("sigma")


_ASCII = st.text(_TEXT, min_size=1, max_size=8)


@st.composite
def engine_rules(draw: st.DrawFn, engine: Engine) -> Rule:
    """A rule of one data category over the fields the engine's target can reach."""
    category = draw(st.sampled_from(sorted(engine.fields)))
    detection_fields, exclusion_fields = engine.fields[category]
    leaves = matches(exclusion_fields, values=st.one_of(_ASCII, placeholders()))
    names = draw(st.lists(_ASCII, max_size=2 if engine.negation else 0, unique_by=str.lower))
    exclusions = tuple(
        Exclusion(name=name, description="generated", condition=draw(conditions(leaves, 2)))
        for name in names
    )
    return draw(
        rules(
            fields=detection_fields,
            values=_ASCII,
            aggregation_fields=AGGREGATION_FIELDS,
            categories=[category],
            allow_not=engine.negation,
            metadata={
                "data": st.just(DataRequirement(category=category)),
                "exclusions": st.just(exclusions),
                "window": st.sampled_from(("5d", "90m", "1h", "30d")),
            },
        )
    )


@pytest.mark.parametrize(("engine", "options"), ENGINE_CASES)
@given(data=st.data())
def test_generated_rule_runs_as_the_reference(
    engine: Engine, options: Mapping[str, Any], data: st.DataObject
) -> None:
    rule = data.draw(engine_rules(engine), label="rule")
    bare = rule.model_copy(update={"exclusions": ()})
    try:
        rmmdetect.convert(bare, engine.target, engine.format, **options)
    except UnsupportedFeatureError:
        # The target cannot express this detection (e.g. a wildcard on an IP field in EQL):
        # an outcome the backend reports, not a rendering to run. Counted, not hidden.
        event(f"{engine.target}: detection unsupported")
        return
    site = data.draw(sites(rule), label="site")
    drawn = data.draw(events(resolve(rule, site).rule), label="events")
    check(engine, rule, site, drawn, options)


# Known differences, asserted so that each test fails the day it stops being true.


def _supremo() -> Rule:
    return CATALOG.get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6")


def _event(index: int, **fields: str | datetime) -> Event:
    base: Event = {"host.id": "dev-1", "host.name": "alpha.corp", "event.id": str(1000 + index)}
    base["@timestamp"] = NOW
    return base | {key.replace("__", "."): value for key, value in fields.items()}


def test_kql_semi_join_excludes_by_file_not_by_event() -> None:
    """Two events of one file: the exclusion's semi-join removes both, the reference one."""
    from engines import kql

    rule = _supremo()
    site = Site(placeholders={"scheduled_task_id": "7301"})
    signer = "Nanosystems S.R.L."
    shared = {"file.code_signature.subject_name": signer, "process.name": "sremo.exe"}
    first = _event(0, **{"file.hash.sha1": "ab" * 20, **shared}) | {"event.id": "7301"}
    second = _event(1, **{"file.hash.sha1": "ab" * 20, **shared})
    resolved = resolve(rule, site, "omit").rule.model_copy(update={"aggregation": None})
    text = rmmdetect.render(resolved, "kql")
    [(kept, _)] = kql.run([(resolved, text)], [first, second], NOW)
    reference = rmmdetect.evaluate(resolved, [first, second], now=NOW)
    assert [e["event.id"] for e in reference.kept] == ["1001"]
    assert kept == frozenset()
    assert len(kql.prepare(resolved, [first, second])) == 1, "prepare keeps one event per file"


@pytest.mark.parametrize(
    ("text", "needle", "reference", "duckdb_kql"),
    [
        pytest.param("a\u00e9", "a", True, False, id="letter-after-is-not-ascii"),
        pytest.param("\u00e9a", "a", True, False, id="letter-before-is-not-ascii"),
        pytest.param("a_b", "a", True, True, id="underscore-ends-a-term"),
    ],
)
def test_duckdb_kql_has_uses_unicode_letters_as_term_characters(
    text: str, needle: str, reference: bool, duckdb_kql: bool
) -> None:
    """duckdb-kql bounds ``has`` terms by Unicode letters and digits, the model by ASCII ones."""
    from engines import kql

    rule = _supremo().model_copy(
        update={
            "detection": Match(
                field="file.code_signature.subject_name", op="has", values=(needle,)
            ),
            "aggregation": None,
            "exclusions": (),
        }
    )
    event = _event(0, **{"file.code_signature.subject_name": text})
    [(kept, _)] = kql.run([(rule, rmmdetect.render(rule, "kql"))], [event], NOW)
    assert holds(rule.detection, event) is reference
    assert (kept == {0}) is duckdb_kql


def test_every_kql_operator_translates() -> None:
    """duckdb-kql translates each operator the KQL backend emits, single and any-of, cased."""
    import duckdb_kql

    from rmmdetect.model import Operator

    rule = _supremo()
    for op in Operator:
        for cased in (False, True):
            for values in (("a",), ("a", "b")):
                match = Match(field="file.code_signature.subject_name", op=op, values=values)
                variant = rule.model_copy(
                    update={"detection": match.model_copy(update={"cased": cased})}
                )
                text = rmmdetect.render(
                    variant, "kql", site=Site(placeholders=_all_placeholders(rule))
                )
                assert duckdb_kql.to_sql(text)


def _all_placeholders(rule: Rule) -> dict[str, str]:
    return {name: "7301" for x in rule.exclusions for name in x.placeholders()}


def test_each_engine_is_declared_for_the_fidelity_report() -> None:
    from engines.proofs import PROVEN_BY

    assert set(PROVEN_BY) == set(rmmdetect.targets())
    assert {t: e for t, e in PROVEN_BY.items() if e} == {t: e.name for t, e in ENGINES.items()}


def test_duckdb_folds_dotted_capital_i_to_one_letter() -> None:
    """DuckDB's lower() maps U+0130 to 'i', Python's to 'i' + U+0307: =~ decides differently."""
    from engines import kql

    rule = _supremo().model_copy(
        update={
            "detection": Match(
                field="file.code_signature.subject_name", op="equals", values=("B\u0130L",)
            ),
            "aggregation": None,
            "exclusions": (),
        }
    )
    event = _event(0, **{"file.code_signature.subject_name": "bil"})
    [(kept, _)] = kql.run([(rule, rmmdetect.render(rule, "kql"))], [event], NOW)
    assert holds(rule.detection, event) is False
    assert kept == {0}
    assert kql.prepare(rule, [event]) == [], "prepare drops an event the folding decides"


@pytest.mark.parametrize(
    ("condition", "document", "case_insensitive", "hits"),
    [
        pytest.param('not (a : "x")', {"b": "y"}, True, 0, id="missing-field-under-not-is-null"),
        pytest.param('a : "B\u0130L"', {"a": "B\u0130L"}, True, 0, id="non-ascii-letter-folded"),
        pytest.param('a : "abc"', {"a": "ABC"}, False, 0, id="colon-cased-when-unfolded"),
        pytest.param('a regex "ab"', {"a": "abc"}, True, 1, id="regex-anchored-at-start-only"),
    ],
)
def test_eql_python_engine_known_differences(
    condition: str, document: dict[str, str], case_insensitive: bool, hits: int
) -> None:
    """What eql's Python engine does where Elasticsearch or the model would differ."""
    from eql.parser import elasticsearch_syntax, ignore_missing_functions

    import eql

    with elasticsearch_syntax, ignore_missing_functions:
        query = eql.parse_query(f"process where {condition}")
    previous = eql.utils.CASE_INSENSITIVE
    eql.utils.CASE_INSENSITIVE = case_insensitive
    try:
        found = list(eql.get_engine(query)([eql.Event("process", 0, document)]))
    finally:
        eql.utils.CASE_INSENSITIVE = previous
    assert len(found) == hits


@pytest.mark.parametrize(
    ("field", "op", "value", "event_fields"),
    [
        pytest.param(
            "file.name", "has", "tools", {"file.path": "C:\\tools\\agent.exe"}, id="name-has"
        ),
        pytest.param(
            "file.name",
            "contains",
            "ool",
            {"file.path": "C:\\tools\\agent.exe"},
            id="name-contains",
        ),
        pytest.param(
            "file.name",
            "startswith",
            "to",
            {"file.path": "C:\\tools\\agent.exe"},
            id="name-startswith",
        ),
        pytest.param(
            "file.name",
            "endswith",
            ("tools\\agent.exe", "zz"),
            {"file.path": "C:\\tools\\agent.exe"},
            id="name-backslash",
        ),
        pytest.param(
            "file.code_signature.subject_name",
            "has",
            "tool",
            {"file.code_signature.subject_name": "toolbox"},
            id="value-has",
        ),
        pytest.param(
            "file.hash.sha1",
            "equals",
            ("ab", "cd" * 20),
            {"file.hash.sha1": "ab" * 20},
            id="hash-prefix",
        ),
    ],
)
@pytest.mark.parametrize("options", [{}, {"has_regex": True}], ids=["default", "has_regex"])
def test_sigma_negated_superset_renders_exactly(
    field: str,
    op: str,
    value: str | tuple[str, ...],
    event_fields: dict[str, str],
    options: dict[str, Any],
) -> None:
    """A match whose plain form is a superset renders exactly under ``not`` and in an exclusion.

    Positive, each of these matches renders as a noted superset that keeps the event; negated,
    that superset would drop an event the reference keeps. Both ways of negating (a ``not`` in
    the detection, an exclusion) must keep exactly what the reference keeps, with no note.
    """
    from engines import sigma_sqlite

    match = Match(field=field, op=op, values=value if isinstance(value, tuple) else (value,))
    base = _supremo().model_copy(update={"aggregation": None, "exclusions": ()})
    anything = Match(field="host.name", op="contains", values=("a",))
    negated = base.model_copy(update={"detection": Not(not_=match)})
    excluded = base.model_copy(
        update={
            "detection": anything,
            "exclusions": (Exclusion(name="generated", description="x", condition=match),),
        }
    )
    positive = base.model_copy(update={"detection": match})
    event = _event(0, **event_fields)
    [prepared] = sigma_sqlite.prepare(positive, [event])
    assert not holds(match, prepared)
    rendered = rmmdetect.convert(positive, "sigma", **options)
    [(kept, _)] = sigma_sqlite.run([(positive, rendered.text)], [prepared], NOW)
    # Positive, the rendering is a noted superset that keeps the event (exact with has_regex
    # for a field held whole).
    noted = any(n.kind is NoteKind.APPROXIMATED and field in n.message for n in rendered.notes)
    assert noted or options
    assert kept == (frozenset({0}) if noted else frozenset())
    for rule in (negated, excluded):
        rendering = rmmdetect.convert(rule, "sigma", unsupported="collect", **options)
        assert not any(field in note.message for note in rendering.notes), rendering.notes
        [(kept, _)] = sigma_sqlite.run([(rule, rendering.text)], [prepared], NOW)
        assert kept == {0}, rendering.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("file.name", "tools\\agent.exe"), ("file.hash.sha1", "ab")],
    ids=["name-with-backslash", "partial-hash"],
)
def test_sigma_negated_match_of_no_sysmon_value_is_unsupported(field: str, value: str) -> None:
    """Negated, a match no Sysmon value can meet has no exact Sigma form: it is unsupported.

    A name never holds a backslash and Sysmon writes whole hashes only.
    """
    match = Match(field=field, op="equals", values=(value,))
    base = _supremo().model_copy(update={"aggregation": None, "exclusions": ()})
    with pytest.raises(UnsupportedFeatureError):
        rmmdetect.render(base.model_copy(update={"detection": Not(not_=match)}), "sigma")
    exclusion = Exclusion(name="generated", description="x", condition=match)
    rendering = rmmdetect.convert(
        base.model_copy(update={"exclusions": (exclusion,)}), "sigma", unsupported="collect"
    )
    assert [n.kind for n in rendering.notes if field in n.message] == [NoteKind.UNSUPPORTED]


def test_every_engine_has_a_catalog_test() -> None:
    tests = {name for name in globals() if name.startswith("test_catalog_rule_runs_as_the_")}
    assert tests == {f"test_catalog_rule_runs_as_the_reference_on_{t}" for t in ENGINES}
