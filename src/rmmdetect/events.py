"""Trying a rule on sample events: read JSON Lines, pick the rule, run the reference evaluator.

An event file holds one JSON object a line, keyed by canonical field names, with
``@timestamp`` in ISO 8601; blank lines are skipped::

    {"@timestamp": "2026-12-01T10:00:00Z", "host.id": "d1", "host.name": "ws-01",
     "file.code_signature.subject_name": "Nanosystems S.R.L."}

:func:`try_rule` resolves the rule's placeholders from a site, evaluates it and reports which
event (by line) matched, which exclusion removed which event, and which exclusions could not
apply because the site gave no value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmmdetect.errors import CatalogError, RmmdetectError, RuleFileError
from rmmdetect.evaluator import Evaluation, evaluate
from rmmdetect.loader import load_rules
from rmmdetect.model import Rule, iter_matches
from rmmdetect.site import Site, Unresolved, resolve

__all__ = ["Event", "TestRun", "parse_time", "read_events", "select_rule", "try_rule"]

logger = logging.getLogger("rmmdetect")


@dataclass(frozen=True)
class Event:
    """One event read from a file.

    Attributes:
        line: The 1-based line it was on.
        fields: The event, keyed by canonical field names.
    """

    line: int
    fields: Mapping[str, Any]


def read_events(path: str | Path) -> list[Event]:
    """Read a JSON Lines file of events.

    Args:
        path: The file.

    Returns:
        The events in file order.

    Raises:
        RuleFileError: The file cannot be read.
        CatalogError: Lines are not JSON objects; each error names the file and the line.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleFileError(f"cannot read the events: {error}", path=source) from None
    events: list[Event] = []
    errors: list[RuleFileError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON: {error.msg} (column {error.colno})"
            errors.append(RuleFileError(problem, path=source, line=number))
            continue
        if not isinstance(data, dict):
            problem = f"an event is a JSON object, not {type(data).__name__}"
            errors.append(RuleFileError(problem, path=source, line=number))
            continue
        events.append(Event(number, data))
    if errors:
        raise CatalogError(errors)
    return events


def select_rule(path: str | Path, key: str | None = None) -> Rule:
    """Pick one rule from a rule file.

    Args:
        path: The rule file.
        key: The rule's id or name (any case); needed when the file holds several rules.

    Returns:
        The rule.

    Raises:
        RmmdetectError: No rule has that id or name, or the file holds several and no key
            was given; the message lists the choices.
    """
    rules = load_rules(path)
    if key is None and len(rules) == 1:
        return rules[0]
    if key is not None:
        for rule in rules:
            if str(rule.id) == key.strip().lower() or rule.name.lower() == key.strip().lower():
                return rule
    choices = "; ".join(f"{rule.id} ({rule.name})" for rule in rules)
    problem = "no rule with that id or name" if key else f"{len(rules)} rules in the file"
    raise RmmdetectError(f"{path}: {problem}; choose one with --rule ID_OR_NAME: {choices}")


def parse_time(text: str) -> datetime:
    """Read an ISO 8601 time; a time without a zone is UTC.

    Raises:
        RmmdetectError: The text is not ISO 8601.
    """
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RmmdetectError(
            f"'{text}' is not an ISO 8601 time, e.g. 2026-12-03T12:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TestRun:
    """What a rule did to a file of events.

    Attributes:
        rule: The rule, as given (placeholders unresolved).
        events: Every event read.
        evaluation: The reference evaluator's result over the resolved rule.
        omitted: Exclusions that did not apply, each with the placeholders the site lacks.
    """

    rule: Rule
    events: tuple[Event, ...]
    evaluation: Evaluation
    omitted: tuple[tuple[str, tuple[str, ...]], ...]

    def _line(self, event: Mapping[str, Any]) -> int:
        return next(e.line for e in self.events if e.fields is event)

    @property
    def matched_lines(self) -> list[int]:
        """The lines of the events the rule keeps: its hits."""
        return [self._line(event) for event in self.evaluation.kept]

    @property
    def excluded_lines(self) -> list[tuple[int, str]]:
        """The lines of the events an exclusion removed, with the exclusion's name."""
        return [(self._line(event), name) for name, event in self.evaluation.excluded]

    def report(self) -> str:
        """Describe the run for a person: hits, exclusions and rows, each event by its line."""
        shown = sorted({m.field for m in iter_matches(self.rule.detection)} | {"host.name"})
        lines = [
            f"rule: {self.rule.name} ({self.rule.id})",
            f"events: {len(self.events)} read, {len(self.evaluation.selected)} matched the "
            f"detection in the window, {len(self.evaluation.kept)} kept",
        ]
        for event in self.evaluation.kept:
            lines.append(f"  match line {self._line(event)}: {_fields(event, shown)}")
        for name, event in self.evaluation.excluded:
            lines.append(
                f"  excluded line {self._line(event)} by '{name}': {_fields(event, shown)}"
            )
        for name, missing in self.omitted:
            lines.append(
                f"  not applied: exclusion '{name}' (no site value for {', '.join(missing)})"
            )
        for row in self.evaluation.rows:
            lines.append("  row: " + ", ".join(f"{k}={_text(v)}" for k, v in row.items()))
        return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)


def _fields(event: Mapping[str, Any], names: Sequence[str]) -> str:
    return ", ".join(f"{name}={event[name]}" for name in names if name in event)


def try_rule(
    rule: Rule, events: Sequence[Event], site: Site | None = None, now: datetime | None = None
) -> TestRun:
    """Run a rule over events with the reference evaluator.

    Args:
        rule: The rule.
        events: The events, e.g. from :func:`read_events`.
        site: Values for the exclusions' placeholders; an exclusion without them is omitted.
        now: The end of the window; the current time when ``None``.

    Returns:
        The run.
    """
    resolution = resolve(rule, site, Unresolved.OMIT)
    evaluation = evaluate(resolution.rule, [event.fields for event in events], now=now)
    omitted = tuple((exclusion.name, missing) for exclusion, missing in resolution.omitted)
    logger.debug("tried '%s' on %d events", rule.name, len(events))
    return TestRun(rule, tuple(events), evaluation, omitted)
