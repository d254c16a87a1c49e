"""The reference evaluator: the executable statement of what a rule means.

It runs a rule over events given as flat dicts keyed by canonical field names (``{"host.id":
"d1", "file.code_signature.subject_name": "Nanosystems S.R.L.", "@timestamp": ...}``) and
returns what the rule selects, what each exclusion removed and the aggregated rows. Every
backend is tested against it.

Semantics, step by step:

1. Window: an event is in scope when ``now - window <= @timestamp <= now`` (both ends included,
   as Kusto's ``between``). An event without ``@timestamp`` is out of scope.
2. Detection: the condition tree holds for the event (operators as in :mod:`rmmdetect.model`).
3. Exclusions: an event that matches any exclusion's condition is removed, and recorded under
   the first exclusion that matches it. Exclusions must be resolved first
   (:func:`rmmdetect.site.resolve`); a placeholder left in a value is an error.
4. Aggregation: the kept events are grouped by the ``by`` fields (an event lacking one of them
   joins no group) and each
   output is computed per group: ``min``/``max`` of the field's values present, ``values``
   the sorted set of distinct values present, ``count`` the number of events.

Timestamps may be :class:`~datetime.datetime` objects or ISO 8601 strings; naive ones are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from rmmdetect.errors import RmmdetectError
from rmmdetect.model import (
    AggregateFunction,
    AllOf,
    AnyOf,
    Condition,
    Match,
    Not,
    Operator,
    Rule,
    placeholder_name,
)

__all__ = ["Evaluation", "evaluate", "matches", "term_match"]

Event = Mapping[str, Any]

_WORD: Final = "A-Za-z0-9"


@cache
def _term_pattern(needle: str, cased: bool) -> re.Pattern[str]:
    before = rf"(?<![{_WORD}])" if re.match(rf"[{_WORD}]", needle) else ""
    after = rf"(?![{_WORD}])" if re.search(rf"[{_WORD}]\Z", needle) else ""
    return re.compile(before + re.escape(needle) + after, 0 if cased else re.IGNORECASE)


def term_match(text: str, needle: str, cased: bool = False) -> bool:
    """Tell whether ``needle`` occurs in ``text`` as whole terms (Kusto's ``has``).

    Example:
        >>> term_match("Nanosystems S.R.L.", "nanosystems s.r.l.")
        True
        >>> term_match("Nanosystems S.R.L.", "system")
        False
    """
    if not cased:
        text, needle = text.lower(), needle.lower()
    return _term_pattern(needle, True).search(text) is not None


def _compare(op: Operator, text: str, value: str) -> bool:
    return _COMPARISONS[op](text, value)


_COMPARISONS: Final[dict[Operator, Callable[[str, str], bool]]] = {
    Operator.EQUALS: lambda text, value: text == value,
    Operator.CONTAINS: lambda text, value: value in text,
    Operator.STARTSWITH: str.startswith,
    Operator.ENDSWITH: str.endswith,
    Operator.HAS: lambda text, value: term_match(text, value, cased=True),
}


def _match(condition: Match, event: Event) -> bool:
    found = event.get(condition.field)
    if found is None:
        return False
    text = str(found) if condition.cased else str(found).lower()
    for value in condition.values:
        if placeholder_name(value):
            raise RmmdetectError(
                f"placeholder '{value}' in field '{condition.field}' was never resolved; "
                "resolve the rule with a site before evaluating it"
            )
        if _compare(condition.op, text, value if condition.cased else value.lower()):
            return True
    return False


def matches(condition: Condition, event: Event) -> bool:
    """Tell whether a condition tree holds for one event."""
    if isinstance(condition, Match):
        return _match(condition, event)
    if isinstance(condition, Not):
        return not matches(condition.not_, event)
    if isinstance(condition, AllOf):
        return all(matches(child, event) for child in condition.all)
    if isinstance(condition, AnyOf):
        return any(matches(child, event) for child in condition.any)
    raise TypeError(f"unknown condition node {type(condition).__name__}")


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Evaluation:
    """What a rule did to a set of events.

    Attributes:
        selected: Events in the window that the detection matched, before exclusions.
        kept: The selected events no exclusion removed: the rule's hits.
        excluded: Each removed event with the name of the exclusion that removed it.
        rows: The aggregated rows (empty when the rule has no aggregation), sorted by group.
    """

    selected: tuple[Event, ...]
    kept: tuple[Event, ...]
    excluded: tuple[tuple[str, Event], ...]
    rows: tuple[dict[str, Any], ...]


def _aggregate(rule: Rule, events: Sequence[Event]) -> tuple[dict[str, Any], ...]:
    if rule.aggregation is None:
        return ()
    groups: dict[tuple[Any, ...], list[Event]] = {}
    for event in events:
        key = tuple(event.get(name) for name in rule.aggregation.by)
        if None not in key:
            groups.setdefault(key, []).append(event)
    rows = []
    for key in sorted(groups, key=lambda k: tuple(map(str, k))):
        row: dict[str, Any] = dict(zip(rule.aggregation.by, key, strict=True))
        for output in rule.aggregation.outputs:
            row[output.name] = _summarise(output.function, output.field, groups[key])
        rows.append(row)
    return tuple(rows)


def _summarise(function: AggregateFunction, name: str | None, events: Sequence[Event]) -> Any:
    if function is AggregateFunction.COUNT:
        return len(events)
    present = [event[name] for event in events if name and event.get(name) is not None]
    if name == "@timestamp":
        present = [_timestamp(value) for value in present]
    if function is AggregateFunction.VALUES:
        return sorted(set(present), key=str)
    if not present:
        return None
    return min(present) if function is AggregateFunction.MIN else max(present)


def evaluate(rule: Rule, events: Iterable[Event], now: datetime | None = None) -> Evaluation:
    """Run a rule over events.

    Args:
        rule: A resolved rule (see :func:`rmmdetect.site.resolve`).
        events: Flat dicts keyed by canonical field names.
        now: The end of the window; the current time when ``None``.

    Returns:
        The selected, kept and excluded events and the aggregated rows.

    Raises:
        RmmdetectError: An exclusion still holds a placeholder.
    """
    end = now or datetime.now(UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    start = end - rule.lookback
    selected: list[Event] = []
    kept: list[Event] = []
    excluded: list[tuple[str, Event]] = []
    for event in events:
        stamp = _timestamp(event.get("@timestamp"))
        if stamp is None or not start <= stamp <= end or not matches(rule.detection, event):
            continue
        selected.append(event)
        hit = next((x.name for x in rule.exclusions if matches(x.condition, event)), None)
        if hit is None:
            kept.append(event)
        else:
            excluded.append((hit, event))
    return Evaluation(tuple(selected), tuple(kept), tuple(excluded), _aggregate(rule, kept))
