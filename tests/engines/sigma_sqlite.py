"""The Sigma engine: pysigma-backend-sqlite turns a rendered Sigma rule into SQL for SQLite.

How a flat event becomes a Sysmon-like row of the table ``logs``: each canonical field goes to
its Sigma field (``rmmdetect_backends.sigma.fields.FIELDS``, the backend's own table), and the
columns are ``TEXT COLLATE NOCASE``, Sigma's case-insensitive default (targets.md).

* A path column holds a full Windows path and a name is its last element (``Image`` is
  ``process.executable`` and ends with ``\\`` plus ``process.name``): :func:`prepare` builds
  the path from whichever is present (a bare name is put under ``C:\\Tools\\``) and sets the
  name to the path's last element, so that both sides read one file. A name holding ``\\``
  or a path ending in it names no file; such an event is dropped.
* ``Hashes`` holds ``SHA1=...,MD5=...,SHA256=...`` as Sysmon writes it. Sysmon only writes
  whole hashes, so :func:`prepare` drops an event whose hash is not hexadecimal of its
  algorithm's length; fields of one algorithm get one value.
* A missing field is ``''``: Sysmon writes every field of an event, and SQLite's null would
  make ``NOT (...)`` drop the row.
* SQLite folds case for ASCII letters only (``NOCASE``, ``LIKE``); :func:`prepare` drops an
  event on which that decides a match otherwise than the reference (``engines.semantics``).
* ``|re`` runs as SQLite's ``REGEXP``, bound here to Python's :func:`re.search`.
* Window: a Sigma rule has no time filter; ``run`` passes only the events in
  ``[now - window, now]``, as the platform's search period would.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version
from typing import Any, Final

import hypothesis
from rmmdetect_backends.sigma.fields import FIELDS, Kind
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection

from engines.events import Event
from engines.semantics import ASCII_FOLD, diverges
from rmmdetect import Rule

__all__ = ["ENGINE_NAME", "prepare", "run"]

ENGINE_NAME: Final = f"pysigma-backend-sqlite {version('pysigma-backend-sqlite')} on SQLite"
_INDEX: Final = "RmmdetectEventIndex"
_HASH_LENGTHS: Final = {"MD5": 32, "SHA1": 40, "SHA256": 64}
_FOLDER: Final = "C:\\Tools\\"

Outcome = tuple[frozenset[int], tuple[dict[str, Any], ...]]


def _record(message: str) -> None:
    if hypothesis.currently_in_test_context():
        hypothesis.event(message)


def _unify_paths(rule: Rule, event: Event) -> bool:
    columns: dict[str, list[tuple[str, Kind]]] = {}
    for field, sigma in FIELDS[rule.data.category].items():
        if sigma.kind is not Kind.HASH:
            columns.setdefault(sigma.name, []).append((field, sigma.kind))
    for fields in columns.values():
        paths = [str(event[f]) for f, kind in fields if kind is Kind.VALUE and f in event]
        names = [str(event[f]) for f, kind in fields if kind is Kind.BASENAME and f in event]
        if not paths and not names:
            continue
        if any("\\" in name for name in names) or (paths[:1] and paths[0].endswith("\\")):
            return False
        path = paths[0] if paths else _FOLDER + names[0]
        for field, kind in fields:
            event[field] = path if kind is Kind.VALUE else path.rsplit("\\", 1)[-1]
    return True


def _whole_hashes(rule: Rule, event: Event) -> bool:
    by_algorithm: dict[str, list[str]] = {}
    for field, sigma in FIELDS[rule.data.category].items():
        if sigma.kind is Kind.HASH and sigma.algorithm:
            by_algorithm.setdefault(sigma.algorithm, []).append(field)
    for algorithm, fields in by_algorithm.items():
        present = [str(event[f]) for f in fields if f in event]
        if not present:
            continue
        event.update(dict.fromkeys(fields, present[0]))
        if not re.fullmatch(f"[0-9A-Fa-f]{{{_HASH_LENGTHS[algorithm]}}}", present[0]):
            return False
    return True


def prepare(rule: Rule, events: Sequence[Event]) -> list[Event]:
    """Make events a Sysmon log can hold; drop those SQLite's ASCII folding would decide."""
    prepared = []
    for original in events:
        event = dict(original)
        if not _unify_paths(rule, event):
            _record("sigma: event dropped, a file name with a backslash or a path without one")
        elif not _whole_hashes(rule, event):
            _record("sigma: event dropped, a hash Sysmon would not write")
        elif diverges(ASCII_FOLD, rule, event):
            _record("sigma: event dropped, SQLite's ASCII-only folding decides it")
        else:
            prepared.append(event)
    return prepared


def _row(rule: Rule, columns: Sequence[str], index: int, event: Event) -> list[Any]:
    values: dict[str, str] = {}
    hashes: list[str] = []
    for field, sigma in FIELDS[rule.data.category].items():
        if field not in event:
            continue
        if sigma.kind is Kind.HASH:
            pair = f"{sigma.algorithm}={event[field]}"
            hashes += [] if pair in hashes else [pair]
        elif sigma.kind is Kind.BASENAME:
            # A column with no path field of its own (ParentImage) still holds a path.
            values.setdefault(sigma.name, _FOLDER + str(event[field]))
        else:
            values[sigma.name] = str(event[field])
    values["Hashes"] = ",".join(hashes)
    return [index, *(values.get(column, "") for column in columns)]


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and re.search(pattern, value) is not None


def run(
    queries: Sequence[tuple[Rule, str]], events: Sequence[Event], now: datetime
) -> list[Outcome]:
    """Convert each rendered Sigma rule to SQL and run it over the events in its window."""
    outcomes: list[Outcome] = []
    for rule, text in queries:
        columns = sorted({sigma.name for sigma in FIELDS[rule.data.category].values()})
        database = sqlite3.connect(":memory:")
        database.create_function("REGEXP", 2, _regexp)
        body = ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns)
        database.execute(f'CREATE TABLE logs ("{_INDEX}" INTEGER, {body})')
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        rows = [
            _row(rule, columns, i, event)
            for i, event in enumerate(events)
            if isinstance(event.get("@timestamp"), datetime)
            and now - rule.lookback <= event["@timestamp"] <= now
        ]
        database.executemany(f"INSERT INTO logs VALUES ({marks})", rows)
        (sql,) = sqliteBackend().convert(SigmaCollection.from_yaml(text))
        kept = frozenset(int(row[0]) for row in database.execute(sql))
        database.close()
        outcomes.append((kept, ()))
    return outcomes
