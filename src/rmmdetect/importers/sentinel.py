"""Import a Microsoft Sentinel hunting query or analytic rule YAML file with a Defender KQL query.

The file's ``query`` must be one of the shapes :mod:`rmmdetect.importers.kusto` recognises, over
DeviceFileCertificateInfo (signer), DeviceProcessEvents (process) or DeviceNetworkEvents
(network); columns map back to canonical fields through :mod:`rmmdetect.importers.defender`.

Published files have known mistakes. A ``dataTypes:`` key indented as a sibling of the
``- connectorId:`` item above it (which strict YAML rejects) is re-indented under that
connector, the only reading it has, with a warning. A column the table lacks or that has no
canonical field is refused: the importer never guesses a query's meaning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from rmmdetect.errors import RuleFileError, UnsupportedQueryError
from rmmdetect.importers.base import ImportOptions, build_rule, dropped
from rmmdetect.importers.defender import CATEGORIES, COLUMNS, KNOWN_PROBLEMS
from rmmdetect.importers.kusto import QueryShapeError, parse_hunting_query
from rmmdetect.loader import Document, load_yaml_documents
from rmmdetect.model import Rule, Severity

__all__ = ["CARRIES", "DROPS", "read_sentinel"]

logger = logging.getLogger("rmmdetect")

CARRIES: Final = (
    "id",
    "name",
    "description",
    "attack",
    "data",
    "detection",
    "window",
    "aggregation",
)
"""The rule fields a Sentinel file carries (``severity`` too, in an analytic rule)."""

DROPS: Final = dropped(CARRIES)
"""The rule fields it cannot carry; they come from :class:`ImportOptions`. Exclusions the KQL
backend rendered as ``| where not(...)`` steps read back as part of the detection."""

_REQUIRED: Final = ("id", "name", "description", "query")
_IGNORED: Final = frozenset(
    {
        "requiredDataConnectors",
        "tactics",
        "relevantTechniques",
        "entityMappings",
        "version",
        "kind",
        "severity",
        "queryFrequency",
        "queryPeriod",
        "triggerOperator",
        "triggerThreshold",
        "tags",
        "metadata",
        "customDetails",
        "eventGroupingSettings",
        "incidentConfiguration",
        "alertDetailsOverride",
        "suppressionDuration",
        "suppressionEnabled",
        "status",
    }
)
"""Keys a Sentinel file may have: those read above, and those that do not change the query."""

_SEVERITIES: Final = {s.value.capitalize(): s for s in Severity if s is not Severity.CRITICAL}
_MISINDENTED: Final = re.compile(r"^( *)- connectorId:.*\n\1dataTypes:[ \t]*\r?\n", re.MULTILINE)


def _reindent(text: str, path: Path) -> str:
    """Move each ``dataTypes:`` block that sits beside its ``- connectorId:`` item under it."""
    lines = text.split("\n")
    for found in reversed(list(_MISINDENTED.finditer(text))):
        indent = len(found.group(1))
        start = text.count("\n", 0, found.start()) + 1
        logger.warning(
            "%s:%d: 'dataTypes:' is not indented under '- connectorId:' (not valid YAML); "
            "read as that connector's dataTypes",
            path,
            start + 1,
        )
        index = start
        while index < len(lines) and (
            index == start or len(lines[index]) - len(lines[index].lstrip(" ")) > indent
        ):
            lines[index] = "  " + lines[index]
            index += 1
    return "\n".join(lines)


def _document(text: str, path: Path) -> Document:
    try:
        documents = load_yaml_documents(path, text)
    except RuleFileError as error:
        if not _MISINDENTED.search(text):
            raise
        try:
            documents = load_yaml_documents(path, _reindent(text, path))
        except RuleFileError:
            raise error from None
    if len(documents) != 1 or not isinstance(documents[0].data, Mapping):
        raise UnsupportedQueryError("a Sentinel file holds one mapping of keys", path=path)
    return documents[0]


def _strings(document: Document, key: str) -> tuple[str, ...]:
    value = document.data.get(key, ())
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UnsupportedQueryError(
            "must be a string or a list of strings",
            path=document.path,
            line=document.line_of((key,)),
            field=key,
        )
    return tuple(values)


def _connectors(document: Document) -> list[dict[str, Any]]:
    connectors = document.data.get("requiredDataConnectors") or []
    problem = "must be a list of {connectorId, dataTypes: [table, ...]}"
    if not isinstance(connectors, list):
        raise UnsupportedQueryError(
            problem,
            path=document.path,
            line=document.line_of(("requiredDataConnectors",)),
            field="requiredDataConnectors",
        )
    found = []
    for index, item in enumerate(connectors):
        if not isinstance(item, Mapping) or set(item) != {"connectorId", "dataTypes"}:
            raise UnsupportedQueryError(
                problem,
                path=document.path,
                line=document.line_of(("requiredDataConnectors", index)),
                field=f"requiredDataConnectors.{index}",
            )
        found.append({"id": item["connectorId"], "data_types": item["dataTypes"]})
    return found


def _check_keys(document: Document) -> None:
    for key in document.data:
        if key not in _REQUIRED and key not in _IGNORED:
            raise UnsupportedQueryError(
                f"'{key}' is not a Sentinel hunting-query or analytic-rule key this importer "
                f"reads; allowed: {', '.join(sorted({*_REQUIRED, *_IGNORED}))}",
                path=document.path,
                line=document.line_of((key,)),
                field=str(key),
            )
    for key in _REQUIRED:
        if not isinstance(document.data.get(key), str):
            raise UnsupportedQueryError(
                "is required, as a string",
                path=document.path,
                line=document.line_of((key,)),
                field=key,
            )


def _severity(document: Document) -> dict[str, Severity]:
    if "severity" not in document.data:
        return {}
    value = document.data["severity"]
    if value not in _SEVERITIES:
        raise UnsupportedQueryError(
            f"'{value}' is not a Sentinel severity; allowed: {', '.join(_SEVERITIES)}",
            path=document.path,
            line=document.line_of(("severity",)),
            field="severity",
        )
    return {"severity": _SEVERITIES[value]}


def read_sentinel(text: str, path: Path, options: ImportOptions) -> Rule:
    """Read a Sentinel hunting-query or analytic-rule YAML file into a rule.

    Args:
        text: The file's text.
        path: The file, named in errors and warnings.
        options: Values for the fields listed in :data:`DROPS`.

    Returns:
        The rule.

    Raises:
        RuleFileError: The file is not valid YAML, even with a mis-indented ``dataTypes:``
            re-indented.
        UnsupportedQueryError: A key, query step, operator or column is outside the
            supported shapes; the message names the line and the part.
    """
    document = _document(text, path)
    _check_keys(document)
    query_line = document.line_of(("query",)) or 0
    try:
        query = parse_hunting_query(document.data["query"], COLUMNS, KNOWN_PROBLEMS)
    except QueryShapeError as problem:
        # A block scalar's text starts on the line after its key.
        raise UnsupportedQueryError(
            f"(line {problem.line} of the query) {problem.message}",
            path=path,
            line=query_line + problem.line,
            field="query",
        ) from None
    carried = {
        "id": document.data["id"],
        "name": document.data["name"],
        "description": document.data["description"],
        "attack": {
            "tactics": _strings(document, "tactics"),
            "techniques": _strings(document, "relevantTechniques"),
        },
        "data": {"category": CATEGORIES[query.table], "connectors": _connectors(document)},
        "detection": query.detection,
        "window": query.window,
        "aggregation": query.aggregation,
        **_severity(document),
    }
    return build_rule(carried, options, path)
