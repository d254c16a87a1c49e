"""Hypothesis strategies for events that probe one rule, and for the site that resolves it.

Events are flat dicts keyed by canonical field names, the reference evaluator's input
(:mod:`rmmdetect.evaluator`). Every value is built from the rule's own values so that a small
number of examples reaches every branch of the rule:

* matches: a value of the rule, verbatim;
* case variants: the same value with letters' case flipped;
* near misses: one character changed, added or removed;
* term boundaries: the value embedded between neighbours that are ASCII letters or digits,
  punctuation, a space or nothing, chosen independently on each side (this decides ``has``);
* missing fields: a field the rule reads is left out;
* exclusion hits: values from the resolved site, so that each exclusion has events to remove;
* time: inside the window (including both ends exactly), before ``now - window``, after
  ``now``, or without a timestamp.

Each event carries ``host.id`` and ``host.name`` (every Defender row and every Elastic Defend
document names its device) and a numeric ``event.id`` (Defender's ReportId is a long). An
engine adapter maps an event to its platform's rows or documents; docs/engines.md says how each
represents a missing field.

Text is printable ASCII: the reference evaluator folds case with :meth:`str.lower` and defines
term boundaries over ASCII letters and digits, and the engines agree with it only there (see
docs/engines.md for what each engine does with other characters).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from hypothesis import strategies as st

from rmmdetect import Rule, Site
from rmmdetect.model import iter_matches, placeholder_name

Event = dict[str, Any]

NOW: Final = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
"""The frozen end of every rule's window in the equivalence tests."""

_TEXT: Final = string.ascii_letters + string.digits + " -._\\/:@'\""
_NEIGHBOURS: Final = ("", "a", "Z", "7", ".", "-", " ", "_", "\\", "'")
"""Characters placed beside an embedded value: letters and digits join a term, the rest end it."""

HOSTS: Final = (("dev-1", "alpha.corp"), ("dev-2", "beta.corp"), ("dev-3", "gamma.corp"))


def rule_values(rule: Rule) -> dict[str, list[str]]:
    """Return every literal value the rule (detection and exclusions) compares each field with."""
    conditions = [rule.detection, *(x.condition for x in rule.exclusions)]
    values: dict[str, list[str]] = {}
    for condition in conditions:
        for match in iter_matches(condition):
            for value in match.values:
                if placeholder_name(value) is None:
                    values.setdefault(match.field, []).append(value)
    return values


def _flip_case(draw: st.DrawFn, value: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    # Only ASCII letters: Unicode case mappings differ between engines (docs/engines.md).
    pairs = zip(value, flips, strict=True)
    return "".join(c.swapcase() if flip and c.isascii() else c for c, flip in pairs)


def _near_miss(draw: st.DrawFn, value: str) -> str:
    where = draw(st.integers(0, len(value)))
    char = draw(st.sampled_from(_TEXT))
    kind = draw(st.sampled_from(("change", "add", "remove")))
    if kind == "add" or not value:
        return value[:where] + char + value[where:]
    where = min(where, len(value) - 1)
    return value[:where] + ("" if kind == "remove" else char) + value[where + 1 :]


def _embedded(draw: st.DrawFn, value: str) -> str:
    before = draw(st.sampled_from(_NEIGHBOURS))
    after = draw(st.sampled_from(_NEIGHBOURS))
    padding = draw(st.sampled_from(("", "x", "Setup ", "C:\\Tools\\")))
    return padding + before + value + after + padding[::-1]


_VARIANTS: Final[dict[str, Callable[[st.DrawFn, str], str]]] = {
    "match": lambda draw, value: value,
    "case": _flip_case,
    "near-miss": _near_miss,
    "embedded": _embedded,
    "embedded-case": lambda draw, value: _flip_case(draw, _embedded(draw, value)),
}


@st.composite
def field_value(draw: st.DrawFn, candidates: Sequence[str]) -> str:
    """Draw one value for a field from the values a rule compares it with."""
    if not candidates or draw(st.integers(0, 9)) == 0:
        return draw(st.text(_TEXT, min_size=1, max_size=12))
    value = draw(st.sampled_from(list(candidates)))
    variant = draw(st.sampled_from(sorted(_VARIANTS)))
    return _VARIANTS[variant](draw, value) or value


@st.composite
def timestamp(draw: st.DrawFn, window: timedelta, now: datetime = NOW) -> datetime | None:
    """Draw a time inside the window (ends included), just outside it, or none."""
    tick = timedelta(microseconds=1)
    inside = st.integers(0, int(window.total_seconds())).map(lambda s: now - timedelta(seconds=s))
    return draw(
        st.one_of(
            inside,
            inside,
            inside,
            st.sampled_from((now, now - window)),
            st.sampled_from((now - window - tick, now + tick, now - window - timedelta(days=3))),
            st.just(None),
        )
    )


def _site_value(field: str, index: int) -> str:
    kinds: dict[str, Callable[[int], str]] = {
        "event.id": lambda i: str(9000 + i),
        "destination.ip": lambda i: f"10.9.{i // 250}.{i % 250 + 1}",
    }
    if field in kinds:
        return kinds[field](index)
    if field.startswith(("file.hash", "process.hash")):
        return f"{index:040x}"
    return f"site-{field.rsplit('.', 1)[-1]}-{index}.exe"


@st.composite
def sites(draw: st.DrawFn, rule: Rule, lists: bool | None = None) -> Site:
    """Draw values for every placeholder of the rule's exclusions.

    Each placeholder gets one value or a list of two; ``lists`` forces one form (a fixed site
    renders one text per rule, which an engine may translate once).
    """
    fields: dict[str, str] = {}
    for exclusion in rule.exclusions:
        for match in iter_matches(exclusion.condition):
            for value in match.values:
                name = placeholder_name(value)
                if name is not None:
                    fields.setdefault(name, match.field)
    placeholders: dict[str, str | tuple[str, ...]] = {}
    for offset, (name, field) in enumerate(sorted(fields.items())):
        first = _site_value(field, 2 * offset)
        second = _site_value(field, 2 * offset + 1)
        forms = (
            (first, (first, second)) if lists is None else ((first, second) if lists else first,)
        )
        placeholders[name] = draw(st.sampled_from(forms))
    return Site(placeholders=placeholders)


@st.composite
def events(draw: st.DrawFn, rule: Rule, *, max_size: int = 12, now: datetime = NOW) -> list[Event]:
    """Draw events that probe a resolved rule: see the module docstring."""
    values = rule_values(rule)
    fields = sorted(set(values) - {"@timestamp", "host.id", "host.name", "event.id"})
    count = draw(st.integers(1, max_size))
    drawn: list[Event] = []
    for index in range(count):
        host, name = draw(st.sampled_from(HOSTS))
        event: Event = {"host.id": host, "host.name": name, "event.id": str(1000 + index)}
        stamp = draw(timestamp(rule.lookback, now))
        if stamp is not None:
            event["@timestamp"] = stamp
        if "event.id" in values and draw(st.booleans()):
            event["event.id"] = draw(st.sampled_from(values["event.id"]))
        for field in fields:
            if draw(st.integers(0, 5)) > 0:
                event[field] = draw(field_value(values[field]))
        drawn.append(event)
    return drawn
