"""Render rules as Elastic EQL over Elastic Defend events: a query, or a detection rule file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rmmdetect_backends.eql.events import EventKind
from rmmdetect_backends.eql.literals import comment
from rmmdetect_backends.eql.query import Query
from rmmdetect_backends.eql.rules import detection_rules_toml, kibana_ndjson

from rmmdetect.backend import Backend, Fidelity, RenderContext
from rmmdetect.model import Rule

__all__ = ["EqlBackend"]

_RuleFormat = Callable[[Rule, str, EventKind, RenderContext], str]


def _query_file(rule: Rule, query: str, kind: EventKind, context: RenderContext) -> str:
    """The query alone, after a comment that says what EQL leaves to the search around it."""
    context.approximated(
        f"window: EQL has no time filter; the search's time range must cover the last {rule.window}"
    )
    absent = f"the lookback window ({rule.window}; set the search's time range)"
    if rule.aggregation is not None:
        by = ", ".join(rule.aggregation.by)
        context.approximated(
            f"aggregation: EQL has no summarize; matching events come one by one, not per {by}"
        )
        absent += f" and the aggregation by {by} (EQL has no summarize; events come one by one)"
    header = [
        f"/* {comment(rule.name)} */",
        f"/* rmmdetect rule {rule.id} */",
        f"/* Absent from EQL: {absent} */",
    ]
    return "\n".join(header) + "\n" + query


class EqlBackend(Backend):
    """Elastic Security EQL over Elastic Defend (ECS) events.

    Fields map to Elastic Defend's process start, DNS and connection events (see
    :mod:`rmmdetect_backends.eql.events`); an exclusion becomes an ``and not (...)`` clause, and
    one naming a field those events lack is reported as unsupported, never cut down.
    Case-insensitive operators use ``:`` and ``in~``, cased ones ``==``, ``in`` and ``like``;
    a value that a wildcard cannot hold literally is matched by an anchored ``regex``. ``has``
    is approximated by a contains wildcard unless the option ``has_regex`` is given; under a
    negation, where a superset would remove too much, it is always the exact regex.
    """

    name: ClassVar[str] = "eql"
    description: ClassVar[str] = "Elastic Security EQL over Elastic Defend events"
    formats: ClassVar[dict[str, str]] = {
        "query": "the EQL query",
        "detection-rules": "an elastic/detection-rules TOML rule file",
        "kibana": "a Kibana rule-import NDJSON line",
    }
    default_format: ClassVar[str] = "query"
    suffixes: ClassVar[dict[str, str]] = {
        "query": "eql",
        "detection-rules": "toml",
        "kibana": "ndjson",
    }
    options: ClassVar[dict[str, str]] = {
        "has_regex": "render has exactly, as an anchored term-boundary regex (regex~/regex)",
    }
    fidelity: ClassVar[dict[str, Fidelity]] = {
        "equals": Fidelity.EXACT,
        "contains": Fidelity.EXACT,
        "startswith": Fidelity.EXACT,
        "endswith": Fidelity.EXACT,
        "has": Fidelity.SUPERSET,
        "any-of": Fidelity.EXACT,
        "cased": Fidelity.EXACT,
        "window": Fidelity.SUPERSET,
        "aggregation": Fidelity.SUPERSET,
        "exclusions": Fidelity.EXACT,
        "has_regex": Fidelity.EXACT,
    }

    _FORMATS: ClassVar[dict[str, _RuleFormat]] = {
        "query": _query_file,
        "detection-rules": detection_rules_toml,
        "kibana": kibana_ndjson,
    }

    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        """Render a rule as an EQL query, a detection-rules TOML file or a Kibana NDJSON line."""
        query = Query(rule, context)
        return self._FORMATS[format](rule, query.body(), query.kind, context)

    def join(self, texts: Sequence[str], format: str) -> str:
        """Join renderings: NDJSON lines directly, queries and TOML files by a blank line."""
        return ("" if format == "kibana" else "\n").join(texts)
