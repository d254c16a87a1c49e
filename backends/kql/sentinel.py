"""The Microsoft Sentinel hunting-query YAML file for a rule.

The keys are those of the hunting queries in the Azure-Sentinel repository: id, name,
description, requiredDataConnectors (connectorId and dataTypes), tactics, relevantTechniques,
query, entityMappings and version.
"""

from __future__ import annotations

from typing import Any

from rmmdetect_backends.kql.schema import TABLES

from rmmdetect.model import Rule
from rmmdetect.yamltext import dump_yaml

__all__ = ["hunting_query_yaml"]


def _connectors(rule: Rule) -> list[dict[str, Any]]:
    if rule.data.connectors:
        return [
            {"connectorId": c.id, "dataTypes": list(c.data_types)} for c in rule.data.connectors
        ]
    return [{"connectorId": "MicrosoftThreatProtection", "dataTypes": [TABLES[rule.data.category]]}]


def hunting_query_yaml(rule: Rule, query: str) -> str:
    """Return the Sentinel hunting-query YAML for a rule and its rendered query."""
    document: dict[str, Any] = {
        "id": str(rule.id),
        "name": rule.name,
        "description": rule.description,
        "requiredDataConnectors": _connectors(rule),
        "tactics": list(rule.attack.tactics),
        "relevantTechniques": list(rule.attack.techniques),
        "query": query,
        "entityMappings": [
            {
                "entityType": "Host",
                "fieldMappings": [{"identifier": "FullName", "columnName": "DeviceName"}],
            }
        ],
        "version": "1.0.0",
    }
    return dump_yaml(document)
