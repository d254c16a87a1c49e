"""The Microsoft Sentinel hunting-query YAML file for a rule.

The keys are those of the hunting queries in the Azure-Sentinel repository: id, name,
description, requiredDataConnectors (connectorId and dataTypes), tactics, relevantTechniques,
query, entityMappings and version.
"""

from __future__ import annotations

from typing import Any

import yaml
from rmmdetect_backends.kql.schema import TABLES

from rmmdetect.model import Rule

__all__ = ["hunting_query_yaml"]


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks so the query reads as it runs."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


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
    text: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text
