"""Render rules as KQL: a Defender XDR hunting query, or a Sentinel hunting-query YAML file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Final

from rmmdetect_backends.kql.literals import comment, string_literal
from rmmdetect_backends.kql.schema import COLUMNS, JOINS, SCHEMA, TABLES, Join
from rmmdetect_backends.kql.sentinel import hunting_query_yaml

from rmmdetect.backend import Backend, Fidelity, RenderContext
from rmmdetect.errors import RmmdetectError, UnsupportedFeatureError
from rmmdetect.model import (
    AggregateFunction,
    AllOf,
    Condition,
    Match,
    Not,
    Operator,
    Rule,
    iter_matches,
)

__all__ = ["KqlBackend"]

_OPERATORS: Final[dict[tuple[Operator, bool], str]] = {
    (Operator.EQUALS, False): "=~",
    (Operator.EQUALS, True): "==",
    (Operator.CONTAINS, False): "contains",
    (Operator.CONTAINS, True): "contains_cs",
    (Operator.STARTSWITH, False): "startswith",
    (Operator.STARTSWITH, True): "startswith_cs",
    (Operator.ENDSWITH, False): "endswith",
    (Operator.ENDSWITH, True): "endswith_cs",
    (Operator.HAS, False): "has",
    (Operator.HAS, True): "has_cs",
}
"""The Kusto operator for each model operator, by (operator, cased)."""

_LIST_OPERATORS: Final[dict[tuple[Operator, bool], str]] = {
    (Operator.EQUALS, False): "in~",
    (Operator.EQUALS, True): "in",
    (Operator.HAS, False): "has_any",
}
"""Kusto's one-operator form of an any-of, where it has one; others become an ``or``."""

_AGGREGATES: Final[dict[AggregateFunction, str]] = {
    AggregateFunction.MIN: "min({})",
    AggregateFunction.MAX: "max({})",
    AggregateFunction.VALUES: "make_set({})",
    AggregateFunction.COUNT: "count()",
}


class _Query:
    """Renders one rule's condition trees against its table, reaching related tables by join."""

    def __init__(self, rule: Rule, context: RenderContext) -> None:
        self.rule = rule
        self.context = context
        self.table = TABLES[rule.data.category]

    def column(self, table: str, field: str) -> str | None:
        name = COLUMNS[table].get(field)
        if name is None:
            return None
        return name if SCHEMA[table][name] == "string" else f"tostring({name})"

    def fits(self, condition: Condition, table: str) -> bool:
        return all(m.field in COLUMNS[table] for m in iter_matches(condition))

    def match(self, match: Match, table: str) -> str:
        column = self.column(table, match.field)
        assert column is not None  # callers check fits() first
        values = [string_literal(value) for value in match.values]
        key = (match.op, match.cased)
        if len(values) == 1:
            return f"{column} {_OPERATORS[key]} {values[0]}"
        if key in _LIST_OPERATORS:
            return f"{column} {_LIST_OPERATORS[key]} ({', '.join(values)})"
        return "(" + " or ".join(f"{column} {_OPERATORS[key]} {v}" for v in values) + ")"

    def condition(self, node: Condition, table: str) -> str:
        """Render a tree whose every field lives in ``table``."""
        if isinstance(node, Match):
            return self.match(node, table)
        if isinstance(node, Not):
            return f"not({self.condition(node.not_, table)})"
        children = node.all if isinstance(node, AllOf) else node.any
        joiner = " and " if isinstance(node, AllOf) else " or "
        rendered = [self.condition(child, table) for child in children]
        return rendered[0] if len(rendered) == 1 else "(" + joiner.join(rendered) + ")"

    def related(self, node: Condition) -> str | None:
        """Render a tree over the rule's table, reaching other tables through a semi-join."""
        if self.fits(node, self.table):
            return self.condition(node, self.table)
        join = next((j for j in JOINS.get(self.table, ()) if self.fits(node, j.table)), None)
        if join is not None:
            return self.semi_join(node, join)
        if isinstance(node, Match):
            return None
        if isinstance(node, Not):
            inner = self.related(node.not_)
            return None if inner is None else f"not({inner})"
        children = node.all if isinstance(node, AllOf) else node.any
        rendered = [self.related(child) for child in children]
        if any(part is None for part in rendered):
            return None
        joiner = " and " if isinstance(node, AllOf) else " or "
        return "(" + joiner.join(part for part in rendered if part) + ")"

    def semi_join(self, node: Condition, join: Join) -> str:
        inner = self.condition(node, join.table)
        return (
            f"{join.key} in (({join.table} | where Timestamp between (Time_start .. Time_end)"
            f" | where {inner} | distinct {join.foreign_key}))"
        )

    def missing_fields(self, node: Condition) -> list[str]:
        reachable = {self.table, *(j.table for j in JOINS.get(self.table, ()))}
        return sorted(
            {
                m.field
                for m in iter_matches(node)
                if not any(m.field in COLUMNS[t] for t in reachable)
            }
        )

    def detection(self) -> str:
        if not self.fits(self.rule.detection, self.table):
            fields = [m.field for m in iter_matches(self.rule.detection)]
            missing = sorted({f for f in fields if f not in COLUMNS[self.table]})
            raise UnsupportedFeatureError(
                "kql", self.rule.name, f"detection field(s) {', '.join(missing)} in {self.table}"
            )
        return self.condition(self.rule.detection, self.table)

    def exclusions(self) -> list[str]:
        lines: list[str] = []
        for exclusion in self.rule.exclusions:
            rendered = self.related(exclusion.condition)
            if rendered is None:
                missing = ", ".join(self.missing_fields(exclusion.condition))
                self.context.unsupported(
                    f"exclusion '{exclusion.name}' (no {self.table} column or related table "
                    f"for {missing})"
                )
                continue
            lines.append(f"// Exclusion: {comment(exclusion.name)}")
            lines.append(f"| where not({rendered})")
        return lines

    def summarize(self) -> list[str]:
        aggregation = self.rule.aggregation
        if aggregation is None:
            return []
        outputs: list[str] = []
        for output in aggregation.outputs:
            column = COLUMNS[self.table].get(output.field) if output.field else ""
            if column is None:
                raise UnsupportedFeatureError(
                    "kql", self.rule.name, f"aggregation field '{output.field}' in {self.table}"
                )
            outputs.append(f"{output.name}={_AGGREGATES[output.function].format(column)}")
        by = [COLUMNS[self.table].get(field) for field in aggregation.by]
        if None in by:
            raise UnsupportedFeatureError(
                "kql", self.rule.name, f"grouping by {', '.join(aggregation.by)} in {self.table}"
            )
        return [f"| summarize {', '.join(outputs)}", f"    by {', '.join(c for c in by if c)}"]

    def text(self) -> str:
        lines = [
            f"// {comment(self.rule.name)}",
            f"// rmmdetect rule {self.rule.id}",
            f"let Time_start = now(-{self.rule.window});",
            "let Time_end = now();",
            self.table,
            "| where Timestamp between (Time_start .. Time_end)",
            f"| where {self.detection()}",
            *self.exclusions(),
            *self.summarize(),
        ]
        return "\n".join(lines) + "\n"


def _declared_tables(rule: Rule) -> Sequence[str]:
    return [table for connector in rule.data.connectors for table in connector.data_types]


class KqlBackend(Backend):
    """Microsoft Defender XDR Advanced Hunting and Sentinel hunting queries in KQL.

    Fields map to the Defender XDR tables (see :mod:`rmmdetect_backends.kql.schema`). An
    exclusion on a field the rule's table lacks is rendered as a semi-join on the file's SHA1 to
    the table that has it (DeviceProcessEvents, then DeviceNetworkEvents), restricted to the
    same window; where no related table has it, the caller's policy decides.

    Such an exclusion works per file: it removes every certificate row of a SHA1 when any
    related event of that file in the window matches, on any device. The reference evaluator's
    flat event stands for one certificate row together with its file's activity, so the two
    agree when each file has one row, which is how the equivalence tests build their tables.
    """

    name: ClassVar[str] = "kql"
    description: ClassVar[str] = "Microsoft Defender XDR Advanced Hunting and Microsoft Sentinel"
    formats: ClassVar[dict[str, str]] = {
        "query": "the Advanced Hunting query (KQL)",
        "sentinel-hunting": "a Sentinel hunting-query YAML file",
    }
    default_format: ClassVar[str] = "query"
    suffixes: ClassVar[dict[str, str]] = {"query": "kql", "sentinel-hunting": "yaml"}
    fidelity: ClassVar[dict[str, Fidelity]] = {
        "equals": Fidelity.EXACT,
        "contains": Fidelity.EXACT,
        "startswith": Fidelity.EXACT,
        "endswith": Fidelity.EXACT,
        "has": Fidelity.EXACT,
        "any-of": Fidelity.EXACT,
        "cased": Fidelity.EXACT,
        "window": Fidelity.EXACT,
        "aggregation": Fidelity.EXACT,
        "exclusions": Fidelity.EXACT,
    }

    _FORMATS: ClassVar[dict[str, Callable[[Rule, str], str]]] = {
        "query": lambda rule, query: query,
        "sentinel-hunting": hunting_query_yaml,
    }

    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        """Render a rule as a KQL query or a Sentinel hunting-query file."""
        table = TABLES[rule.data.category]
        declared = _declared_tables(rule)
        if declared and table not in declared:
            raise RmmdetectError(
                f"rule '{rule.name}' reads {table} but its data connectors list only "
                f"{', '.join(declared)}; add {table} to data.connectors"
            )
        query = _Query(rule, context).text()
        return self._FORMATS[format](rule, query)

    def join(self, texts: Sequence[str], format: str) -> str:
        """Join renderings: queries by a blank line, YAML files as one YAML stream."""
        return ("---\n" if format == "sentinel-hunting" else "\n").join(texts)
