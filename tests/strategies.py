"""Hypothesis strategies for arbitrary valid rules, shared by every property test.

``rules()`` draws a :class:`rmmdetect.model.Rule` that validates: condition trees of bounded
depth over :data:`rmmdetect.taxonomy.FIELDS`, every operator, cased or not, single values and
any-of lists, arbitrary text (no lone surrogates), exclusions with and without site
placeholders, with or without an aggregation. Every part can be narrowed, so that a test can ask
only for what a target can carry::

    from strategies import rules

    @given(rules(fields=["process.name"], operators=[Operator.EQUALS], max_depth=1))
    def test_something(rule): ...

Arguments of :func:`rules`:

* ``fields``: the canonical fields the detection may use (default: all of them).
* ``exclusion_fields``: the fields exclusions may use (default: ``fields``).
* ``operators``: the operators drawn (default: all).
* ``cased``: ``None`` draws both, ``True`` / ``False`` forces one.
* ``max_values``: the longest any-of list; 1 gives single values only.
* ``max_depth``: the depth of condition trees; 0 gives a single match.
* ``allow_not``: whether ``not`` nodes appear.
* ``values``: the strategy for match values (default: :func:`texts`).
* ``exclusions``: ``True`` draws 0 to 2, ``False`` none.
* ``aggregation``: ``None`` draws both, ``True`` / ``False`` forces one.
* ``aggregation_fields``: the fields ``by`` and outputs may use (default: ``fields``).
* ``categories``: the data categories drawn (default: all).
* ``metadata``: strategies replacing the drawn value of a top-level field, e.g.
  ``{"description": st.just("fixed")}``.
"""

from __future__ import annotations

import datetime as dt
import string
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from rmmdetect.attack import TACTICS
from rmmdetect.model import (
    PLACEHOLDER,
    AggregateFunction,
    Aggregation,
    AllOf,
    AnyOf,
    Attack,
    Condition,
    Connector,
    DataCategory,
    DataRequirement,
    Exclusion,
    Match,
    Not,
    Operator,
    Output,
    Rule,
    Severity,
    Status,
    Tool,
)
from rmmdetect.taxonomy import FIELDS

__all__ = [
    "aggregations",
    "conditions",
    "exclusion_lists",
    "matches",
    "placeholders",
    "rules",
    "texts",
]


def texts(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[str]:
    """Any text without lone surrogates that is not a partial placeholder."""
    return st.text(
        st.characters(exclude_categories=("Cs",)), min_size=min_size, max_size=max_size
    ).filter(lambda value: not PLACEHOLDER.search(value))


def placeholders() -> st.SearchStrategy[str]:
    """A whole site placeholder such as ``{{site_hash}}``."""
    name = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
    return name.map(lambda text: "{{" + text + "}}")


def matches(
    fields: Sequence[str],
    operators: Sequence[Operator] = tuple(Operator),
    cased: bool | None = None,
    max_values: int = 3,
    values: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Match]:
    """A single match over ``fields``."""
    return st.builds(
        Match,
        field=st.sampled_from(list(fields)),
        op=st.sampled_from(list(operators)),
        values=st.lists(texts() if values is None else values, min_size=1, max_size=max_values).map(
            tuple
        ),
        cased=st.booleans() if cased is None else st.just(cased),
    )


def conditions(
    leaves: st.SearchStrategy[Match], max_depth: int = 2, allow_not: bool = True
) -> st.SearchStrategy[Condition]:
    """A condition tree of at most ``max_depth`` levels above its leaves."""
    if max_depth <= 0:
        return leaves
    inner = conditions(leaves, max_depth - 1, allow_not)
    children = st.lists(inner, min_size=1, max_size=3).map(tuple)
    options: list[st.SearchStrategy[Any]] = [
        leaves,
        children.map(lambda c: AllOf(all=c)),
        children.map(lambda c: AnyOf(any=c)),
    ]
    if allow_not:
        options.append(inner.map(lambda c: Not(not_=c)))
    return st.one_of(*options)


_IDENTIFIER = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@st.composite
def aggregations(draw: st.DrawFn, fields: Sequence[str]) -> Aggregation:
    """An aggregation over ``fields`` with uniquely named outputs."""
    by = draw(st.lists(st.sampled_from(list(fields)), min_size=1, max_size=3, unique=True))
    names = draw(st.lists(_IDENTIFIER, min_size=1, max_size=4, unique=True))
    outputs = []
    for name in names:
        function = draw(st.sampled_from(list(AggregateFunction)))
        field = None if function is AggregateFunction.COUNT else draw(st.sampled_from(fields))
        outputs.append(Output(name=name, function=function, field=field))
    return Aggregation(by=tuple(by), outputs=tuple(outputs))


@st.composite
def exclusion_lists(
    draw: st.DrawFn, fields: Sequence[str], max_depth: int, allow_not: bool
) -> tuple[Exclusion, ...]:
    """Zero to two exclusions with distinct names, values possibly site placeholders."""
    names = draw(st.lists(texts(max_size=20), max_size=2, unique_by=str.lower))
    leaves = matches(fields, values=st.one_of(texts(), placeholders()))
    return tuple(
        Exclusion(
            name=name,
            description=draw(texts(max_size=60)),
            condition=draw(conditions(leaves, max_depth, allow_not)),
        )
        for name in names
    )


_URL = st.from_regex(r"https?://[A-Za-z0-9./%_-]{1,30}", fullmatch=True)
_DATE = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


@st.composite
def rules(
    draw: st.DrawFn,
    *,
    fields: Sequence[str] | None = None,
    exclusion_fields: Sequence[str] | None = None,
    operators: Sequence[Operator] = tuple(Operator),
    cased: bool | None = None,
    max_values: int = 3,
    max_depth: int = 2,
    allow_not: bool = True,
    values: st.SearchStrategy[str] | None = None,
    exclusions: bool = True,
    aggregation: bool | None = None,
    aggregation_fields: Sequence[str] | None = None,
    categories: Sequence[DataCategory] = tuple(DataCategory),
    metadata: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> Rule:
    """A valid rule; see the module docstring for the arguments."""
    fields = list(fields or FIELDS)
    leaves = matches(fields, operators, cased, max_values, values)
    use_aggregation = draw(st.booleans()) if aggregation is None else aggregation
    drawn: dict[str, Any] = {
        "id": draw(st.uuids().map(uuid.UUID.__str__)),
        "name": draw(texts(max_size=40)),
        "description": draw(texts(max_size=80)),
        "references": tuple(draw(st.lists(_URL, max_size=2))),
        "author": draw(texts(max_size=20)),
        "date": draw(_DATE),
        "modified": draw(st.none() | _DATE),
        "status": draw(st.sampled_from(list(Status))),
        "severity": draw(st.sampled_from(list(Severity))),
        "attack": Attack(
            tactics=tuple(draw(st.lists(st.sampled_from(list(TACTICS)), min_size=1, max_size=2))),
            techniques=tuple(
                draw(st.lists(st.from_regex(r"T[0-9]{4}(\.[0-9]{3})?", fullmatch=True), min_size=1))
            ),
        ),
        "tool": Tool(
            name=draw(texts(max_size=20)),
            vendor=draw(texts(max_size=20)),
            website=draw(st.none() | _URL),
        ),
        "data": DataRequirement(
            category=draw(st.sampled_from(list(categories))),
            connectors=tuple(
                draw(
                    st.lists(
                        st.builds(
                            Connector,
                            id=st.text(string.ascii_letters, min_size=1, max_size=20),
                            data_types=st.lists(
                                st.text(string.ascii_letters, min_size=1, max_size=20),
                                min_size=1,
                                max_size=2,
                            ).map(tuple),
                        ),
                        max_size=2,
                    )
                )
            ),
        ),
        "detection": draw(conditions(leaves, max_depth, allow_not)),
        "window": draw(st.integers(1, 999).map(str)) + draw(st.sampled_from("mhd")),
        "aggregation": draw(aggregations(aggregation_fields or fields))
        if use_aggregation
        else None,
        "exclusions": draw(exclusion_lists(exclusion_fields or fields, max_depth, allow_not))
        if exclusions
        else (),
        "notes": draw(st.none() | texts(max_size=80)),
    }
    for key, strategy in (metadata or {}).items():
        drawn[key] = draw(strategy)
    return Rule.model_validate(drawn)
