"""Engine adapters: each runs one target's rendered rules on a real engine over generated events.

Not shipped: the equivalence tests (tests/test_equivalence.py) and the fidelity report
(tools/fidelity_report.py) use it. One adapter per target, in the :data:`ENGINES` table:

* ``prepare`` turns generated events into events the platform can hold (an engine's data
  model may force fields to agree, e.g. one Defender column behind two canonical fields);
* ``run`` loads the events once, runs each (rule, rendered text) and returns for each the
  indices of the events it kept, or for a rule that aggregates, the rows, keyed like the
  reference evaluator's;
* ``fields`` are the canonical fields hypothesis rules may read for each data category.

``engines.proofs`` declares which engine checks which target for the fidelity report; a
target without an offline engine (SPL) maps to ``None``. docs/engines.md explains each engine
and its known differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from engines import eql_python, kql, sigma_sqlite
from engines.events import Event
from rmmdetect import Rule
from rmmdetect.model import DataCategory

__all__ = ["ENGINES", "Engine", "normalise_rows"]

Outcome = tuple[frozenset[int], tuple[dict[str, Any], ...]]


@dataclass(frozen=True)
class Engine:
    """One target's engine adapter.

    Attributes:
        name: The engine and its version, for reports.
        target: The rmmdetect target it runs.
        format: The target's format it runs.
        prepare: Generated events to events the platform can hold.
        run: ((rule, rendered text) pairs, events, now) to, for each pair, the kept event
            indices and the aggregated rows.
        fields: By data category, the canonical fields a generated rule's detection may read
            and those its exclusions may read.
        aggregates: Whether the engine runs the rule's aggregation (else kept events only,
            and the window is the search's time range, which ``run`` applies).
        options: The backend option sets to run, e.g. with and without ``has_regex``.
        negation: Whether generated rules may hold ``not`` and exclusions; off only where the
            backend's approximations are known not to hold under a negation (docs/engines.md).
    """

    name: str
    target: str
    format: str
    prepare: Callable[[Rule, Sequence[Event]], list[Event]]
    run: Callable[[Sequence[tuple[Rule, str]], Sequence[Event], datetime], list[Outcome]]
    fields: Mapping[DataCategory, tuple[Sequence[str], Sequence[str]]]
    aggregates: bool
    options: tuple[Mapping[str, Any], ...] = ({},)
    negation: bool = True


def _kql_fields() -> dict[DataCategory, tuple[list[str], list[str]]]:
    from rmmdetect_backends.kql.schema import COLUMNS, JOINS, TABLES

    # A timestamp or a long ReportId compared with generated text says nothing.
    unsuitable = {"@timestamp", "event.id"}
    fields: dict[DataCategory, tuple[list[str], list[str]]] = {}
    for category, table in TABLES.items():
        reachable = {table, *(join.table for join in JOINS.get(table, ()))}
        names = {field for name in reachable for field in COLUMNS[name]}
        fields[category] = (sorted(set(COLUMNS[table]) - unsuitable), sorted(names - unsuitable))
    return fields


def _eql_fields() -> dict[DataCategory, tuple[list[str], list[str]]]:
    from rmmdetect_backends.eql.events import EVENTS

    unsuitable = {"@timestamp", "event.id"}
    fields: dict[DataCategory, tuple[list[str], list[str]]] = {}
    for category, kinds in EVENTS.items():
        names = sorted({field for kind in kinds for field in kind.fields} - unsuitable)
        fields[category] = (names, names)
    return fields


def _sigma_fields() -> dict[DataCategory, tuple[list[str], list[str]]]:
    from rmmdetect_backends.sigma.fields import FIELDS

    # Names (a path's last element) and hashes can render as supersets, which the Sigma
    # backend's fidelity table declares and its renderings note (docs/engines.md).
    fields: dict[DataCategory, tuple[list[str], list[str]]] = {}
    for category, table in FIELDS.items():
        names = sorted(table)
        fields[category] = (names, names)
    return fields


_HAS_REGEX: Final = ({}, {"has_regex": True})

ENGINES: Final[dict[str, Engine]] = {
    "kql": Engine(kql.ENGINE_NAME, "kql", "query", kql.prepare, kql.run, _kql_fields(), True),
    "eql": Engine(
        eql_python.ENGINE_NAME,
        "eql",
        "query",
        eql_python.prepare,
        eql_python.run,
        _eql_fields(),
        False,
        _HAS_REGEX,
    ),
    "sigma": Engine(
        sigma_sqlite.ENGINE_NAME,
        "sigma",
        "rule",
        sigma_sqlite.prepare,
        sigma_sqlite.run,
        _sigma_fields(),
        False,
        _HAS_REGEX,
    ),
}
"""The engine adapter of each target that has one."""


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _normalise(field: str | None, value: Any) -> Any:
    scalar = _instant if field == "@timestamp" else str
    if isinstance(value, list | tuple):
        return sorted(scalar(item) for item in value)
    return None if value is None else scalar(value)


def normalise_rows(rule: Rule, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Make aggregated rows from an engine and from the reference comparable, sorted."""
    assert rule.aggregation is not None
    fields: dict[str, str | None] = {name: name for name in rule.aggregation.by}
    fields.update({output.name: output.field for output in rule.aggregation.outputs})
    normal = [{key: _normalise(fields[key], value) for key, value in row.items()} for row in rows]
    return sorted(normal, key=lambda row: sorted((k, str(v)) for k, v in row.items()))
