"""The KQL engine: duckdb-kql (third-party, pre-alpha) runs rendered queries on DuckDB tables.

duckdb-kql is a second opinion on KQL semantics, never Microsoft's engine. The tables are
created with every column of the Defender XDR tables the KQL backend queries, typed as
``backends/kql/defender_xdr_schema.json`` says.

How a flat event becomes Defender rows:

* A rule reads one table (``rmmdetect_backends.kql.schema.TABLES``); the event becomes one row
  of it. A file-signature event also becomes one DeviceProcessEvents row and one
  DeviceNetworkEvents row: the certificate row is the file, the process row is that file
  running and the network row a connection that process made; all three share the time, the
  device, the ReportId and the file's SHA1 (SHA1, SHA1, InitiatingProcessSHA1), which is how
  the backend's semi-joins reach them.
* Several canonical fields share one column (file.name and process.name are FileName in
  DeviceProcessEvents; file.hash.sha1 and process.hash.sha1 are SHA1). :func:`prepare` gives
  such fields one value, the first present, so that the event means the same to both sides.
* The semi-join excludes by file, the reference by event: two events of one file are one
  file to Defender. :func:`prepare` therefore keeps one event per SHA1 and gives an event
  without one a SHA1 of its own (docs/engines.md; a test shows the difference).
* Missing values: Kusto strings are never null, so a missing string field is ``''``; a
  missing ReportId or Timestamp is null.
* Non-ASCII text: DuckDB folds case with Unicode's simple mapping (``lower('\u0130')`` is
  ``'i'``, Python's is ``'i\u0307'``) and duckdb-kql bounds ``has`` terms by Unicode letters
  and digits, where the model says ASCII. :func:`prepare` drops an event on which a match of
  the rule would come out differently under those rules (``engines.semantics``, a model of
  duckdb-kql's semantics checked by tests), and records it as a hypothesis event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Final

import duckdb
import duckdb_kql
import hypothesis
from rmmdetect_backends.kql.schema import COLUMNS, JOINS, SCHEMA, TABLES

from engines.events import Event
from engines.semantics import UNICODE_SIMPLE_FOLD, diverges
from rmmdetect import Rule
from rmmdetect.model import AggregateFunction

__all__ = ["ENGINE_NAME", "Outcome", "prepare", "run"]

ENGINE_NAME: Final = f"duckdb-kql {duckdb_kql.__version__}"

_DUCK_TYPES: Final = {
    "string": "VARCHAR",
    "long": "BIGINT",
    "int": "INTEGER",
    "datetime": "TIMESTAMPTZ",
    "bool": "BOOLEAN",
    "real": "DOUBLE",
    "dynamic": "JSON",
}
_ROW: Final = "EventIndex"
"""An extra column that names the generated event a row came from; no query reads it."""

_DROPPED: Final = "duckdb-kql: event dropped, non-ASCII folding or term decides it"

Outcome = tuple[frozenset[int], tuple[dict[str, Any], ...]]


def _tables(rule: Rule) -> list[str]:
    table = TABLES[rule.data.category]
    return [table, *(join.table for join in JOINS.get(table, ()))]


def _aliases(tables: Sequence[str]) -> list[tuple[str, ...]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for table in tables:
        for field, column in COLUMNS[table].items():
            groups.setdefault((table, column), []).append(field)
    merged: list[set[str]] = []
    for fields in groups.values():
        overlapping = [group for group in merged if group & set(fields)]
        union = set(fields).union(*overlapping)
        merged = [group for group in merged if group not in overlapping] + [union]
    return [tuple(sorted(group)) for group in merged if len(group) > 1]


def prepare(rule: Rule, events: Sequence[Event]) -> list[Event]:
    """Make events that Defender tables can hold: see the module docstring."""
    tables = _tables(rule)
    groups = _aliases(tables)
    prepared: list[Event] = []
    seen: set[str] = set()
    for index, original in enumerate(events):
        event = dict(original)
        if len(tables) > 1 and "file.hash.sha1" not in event:
            event["file.hash.sha1"] = event.get("process.hash.sha1", f"{index:040x}")
        for group in groups:
            present = [event[f] for f in group if f in event]
            if present:
                event.update(dict.fromkeys(group, present[0]))
        if len(tables) > 1:
            if str(event["file.hash.sha1"]).lower() in seen:
                continue
            seen.add(str(event["file.hash.sha1"]).lower())
        if diverges(UNICODE_SIMPLE_FOLD, rule, event):
            if hypothesis.currently_in_test_context():
                hypothesis.event(_DROPPED)
            continue
        prepared.append(event)
    return prepared


def _create(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    columns = [_ROW, *SCHEMA[table]]
    types = ["BIGINT", *(_DUCK_TYPES[kind] for kind in SCHEMA[table].values())]
    body = ", ".join(f'"{c}" {t}' for c, t in zip(columns, types, strict=True))
    con.execute(f'CREATE TABLE "{table}" ({body})')
    return columns


def _row(table: str, index: int, event: Event) -> list[Any]:
    by_column = {column: event.get(field) for field, column in COLUMNS[table].items()}
    for join in JOINS.get(table, ()):
        by_column[join.key] = event.get("file.hash.sha1")
    foreign = [j.foreign_key for joins in JOINS.values() for j in joins if j.table == table]
    for column in foreign:
        by_column[column] = event.get("file.hash.sha1")
    row: list[Any] = [index]
    for column, kind in SCHEMA[table].items():
        value = by_column.get(column)
        if kind == "string":
            row.append("" if value is None else str(value))
        elif kind == "long" and value is not None:
            row.append(int(value))
        else:
            row.append(value)
    return row


@cache
def _connection(tables: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    con = duckdb_kql.connect()
    con.execute("SET TimeZone='UTC'")
    for table in tables:
        _create(con, table)
    return con


def load(rule: Rule, events: Sequence[Event]) -> duckdb.DuckDBPyConnection:
    """Fill the rule's Defender tables, created once per process, with the events' rows."""
    tables = tuple(_tables(rule))
    con = _connection(tables)
    for table in tables:
        con.execute(f'DELETE FROM "{table}"')
        rows = [_row(table, i, event) for i, event in enumerate(events)]
        if rows:
            # One statement: executemany costs DuckDB a round trip per row.
            marks = "(" + ", ".join("?" for _ in rows[0]) + ")"
            values = ", ".join(marks for _ in rows)
            con.execute(f'INSERT INTO "{table}" VALUES {values}', [v for r in rows for v in r])
    return con


@cache
def _translate(query: str, tables: tuple[str, ...], now: datetime) -> tuple[str, Any]:
    """Translate once per query text: parsing dominates the cost of a run."""
    schema = {table: [_ROW, *SCHEMA[table]] for table in tables}
    translated = duckdb_kql.to_sql(query, schema=schema, query_now=now)
    return str(translated), translated.parameters


def _normalise(function: AggregateFunction, value: Any) -> Any:
    if function is AggregateFunction.VALUES:
        items = json.loads(value) if isinstance(value, str) else value
        return sorted(str(item) for item in items)
    return value


def _execute(con: duckdb.DuckDBPyConnection, rule: Rule, query: str, now: datetime) -> Outcome:
    sql, parameters = _translate(query, tuple(_tables(rule)), now)
    relation = con.sql(sql, params=parameters) if parameters else con.sql(sql)
    names = list(relation.columns)
    records = [dict(zip(names, values, strict=True)) for values in relation.fetchall()]
    if rule.aggregation is None:
        return frozenset(int(r[_ROW]) for r in records), ()
    table = TABLES[rule.data.category]
    rows = []
    for record in records:
        row = {field: record[COLUMNS[table][field]] for field in rule.aggregation.by}
        for output in rule.aggregation.outputs:
            row[output.name] = _normalise(output.function, record[output.name])
        rows.append(row)
    return frozenset(), tuple(rows)


def run(
    queries: Sequence[tuple[Rule, str]], events: Sequence[Event], now: datetime
) -> list[Outcome]:
    """Load the events once, then run each rendered query with ``now()`` frozen.

    A query without ``summarize`` gives the rows it keeps, named by their event index; one
    with it gives rows keyed like the reference evaluator's, by canonical ``by`` field. Every
    query must read the same tables (the renderings of one rule do).
    """
    con = load(queries[0][0], events)
    return [_execute(con, rule, query, now) for rule, query in queries]
