"""The EQL engine: the eql package's Python engine runs rendered queries over ECS documents.

How a flat event becomes an Elastic Defend document: the rule reads the first event kind of
its category whose fields cover its detection (``rmmdetect_backends.eql.events.EVENTS``, the
backend's own choice); each canonical field becomes the nested ECS field that kind names
(``file.name`` and ``process.name`` are both ``process.name`` on a process start, so
:func:`prepare` gives them one value), plus the kind's selection fields
(``host.os.type: windows``, ``event.type: start``, ``network.protocol: dns``). A missing field
is absent from the document, as Elastic Defend omits what it does not know.

Known differences from Elasticsearch, designed around:

* Case: eql's engine folds case for every operator or for none (the global
  ``eql.utils.CASE_INSENSITIVE``), where Elasticsearch folds for ``:`` and ``regex~`` only. A
  rule without cased matches runs folded; one with cased matches runs unfolded, and
  :func:`prepare` drops an event on which an uncased match would decide differently when cased
  (recorded as a hypothesis event), so that case never decides the outcome.
* Non-ASCII letters: eql's ``:`` does not match a non-ASCII letter that has case even to
  itself when folding (``"B\u0130L" : "B\u0130L"`` is false). :func:`prepare` drops an event
  on which an uncased match reads such a letter, in the value or the field.
* Regex: eql anchors a regex at the start only, Elasticsearch at both ends; each regex is
  anchored at the end before the run.
* Missing fields under a negation: eql's engine compares a missing field as null and keeps
  null through ``not``, so ``not (process.name : "a")`` drops a document without
  ``process.name``, where the reference (a match on a missing field is false) keeps the event.
  :func:`prepare` drops an event that lacks a field the rule reads under a ``not`` (exclusions
  render as ``and not (...)``), recorded as a hypothesis event.
* Window: an EQL query has no time filter; the search's time range does that. ``run`` passes
  only the events in ``[now - window, now]``, as a search over the rule's window would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import hypothesis
from eql.parser import elasticsearch_syntax, ignore_missing_functions
from rmmdetect_backends.eql.events import EVENTS, EventKind

import eql
from engines.events import Event
from rmmdetect import Rule
from rmmdetect.evaluator import matches
from rmmdetect.model import AllOf, Match, Not, iter_matches

__all__ = ["ENGINE_NAME", "nest", "prepare", "run"]

ENGINE_NAME: Final = f"eql {eql.__version__} PythonEngine"
_INDEX: Final = "rmmdetect_event_index"
"""A document key that names the generated event; no rendered query reads it."""
_SELECTION_VALUES: Final = {
    "host.os.type": "windows",
    "event.type": "start",
    "network.protocol": "dns",
}
_CASE: Final = "eql: event dropped, case would decide an uncased match"
_NULL: Final = "eql: event dropped, it lacks a field read under a negation"
_UNICODE: Final = "eql: event dropped, an uncased match reads a non-ASCII letter with case"

Outcome = tuple[frozenset[int], tuple[dict[str, Any], ...]]


def kind_of(rule: Rule) -> EventKind:
    """Return the event kind the backend reads for the rule: the first covering its detection."""
    fields = {m.field for m in iter_matches(rule.detection)}
    kinds = EVENTS[rule.data.category]
    return next((k for k in kinds if fields <= set(k.fields)), kinds[0])


def _leaves(rule: Rule) -> list[Any]:
    conditions = [rule.detection, *(x.condition for x in rule.exclusions)]
    return [m for c in conditions for m in iter_matches(c)]


def _case_decides(rule: Rule, event: Event) -> bool:
    leaves = _leaves(rule)
    if not any(m.cased for m in leaves):
        return False
    uncased = [m for m in leaves if not m.cased]
    return any(
        matches(m, event) != matches(m.model_copy(update={"cased": True}), event) for m in uncased
    )


def _negated(condition: Any, under: bool = False) -> Iterator[str]:
    if isinstance(condition, Match):
        if under:
            yield condition.field
        return
    if isinstance(condition, Not):
        yield from _negated(condition.not_, True)
        return
    children = condition.all if isinstance(condition, AllOf) else condition.any
    for child in children:
        yield from _negated(child, under)


def _null_decides(rule: Rule, event: Event) -> bool:
    negated = set(_negated(rule.detection))
    negated |= {m.field for x in rule.exclusions for m in iter_matches(x.condition)}
    return any(field not in event for field in negated)


def _cased_letter(text: str) -> bool:
    return any(not char.isascii() and char.lower() != char.upper() for char in text)


def _unicode_decides(rule: Rule, event: Event) -> bool:
    for match in _leaves(rule):
        if match.cased or match.field not in event:
            continue
        if _cased_letter(str(event[match.field])) or any(map(_cased_letter, match.values)):
            return True
    return False


def _record(message: str) -> None:
    if hypothesis.currently_in_test_context():
        hypothesis.event(message)


def prepare(rule: Rule, events: Sequence[Event]) -> list[Event]:
    """Give fields that share an ECS field one value; drop events case or null would decide."""
    groups: dict[str, list[str]] = {}
    for field, ecs in kind_of(rule).fields.items():
        groups.setdefault(ecs, []).append(field)
    prepared = []
    for original in events:
        event = dict(original)
        for group in groups.values():
            present = [event[f] for f in group if f in event]
            if present:
                event.update(dict.fromkeys(group, present[0]))
        if _case_decides(rule, event):
            _record(_CASE)
        elif _null_decides(rule, event):
            _record(_NULL)
        elif _unicode_decides(rule, event):
            _record(_UNICODE)
        else:
            prepared.append(event)
    return prepared


def _document(kind: EventKind, index: int, event: Event) -> dict[str, Any]:
    flat: dict[str, Any] = {_INDEX: index}
    for selection in kind.selection:
        field = selection.split(" ", 1)[0]
        flat[field] = _SELECTION_VALUES[field]
    for field, ecs in kind.fields.items():
        if field in event and field != "@timestamp":
            flat[ecs] = str(event[field])
    return nest(flat)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Turn dotted ECS names into the nested documents Elastic Defend writes."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        *path, leaf = name.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


@contextmanager
def _case_insensitive(folded: bool) -> Iterator[None]:
    previous = eql.utils.CASE_INSENSITIVE
    eql.utils.CASE_INSENSITIVE = folded
    try:
        yield
    finally:
        eql.utils.CASE_INSENSITIVE = previous


def _parse(text: str) -> Any:
    with elasticsearch_syntax, ignore_missing_functions:
        query = eql.parse_query(text)
    for node in query:
        if isinstance(node, eql.ast.FunctionCall) and node.name == "match":
            node.arguments[1:] = [eql.ast.String(rf"(?:{a.value})\Z") for a in node.arguments[1:]]
    return query


def _in_range(rule: Rule, event: Event, now: datetime) -> bool:
    stamp = event.get("@timestamp")
    return isinstance(stamp, datetime) and now - rule.lookback <= stamp <= now + timedelta(0)


def run(
    queries: Sequence[tuple[Rule, str]], events: Sequence[Event], now: datetime
) -> list[Outcome]:
    """Run each rendered query over the events in its window; return the kept event indices."""
    outcomes: list[Outcome] = []
    for rule, text in queries:
        kind = kind_of(rule)
        inputs = [
            eql.Event(kind.category, 0, _document(kind, i, event))
            for i, event in enumerate(events)
            if _in_range(rule, event, now)
        ]
        with _case_insensitive(not any(m.cased for m in _leaves(rule))):
            hits = list(eql.get_engine(_parse(text))(inputs))
        kept = frozenset(int(hit.events[0].data[_INDEX]) for hit in hits)
        outcomes.append((kept, ()))
    return outcomes
