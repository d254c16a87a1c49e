"""Elastic detection-rule files for an EQL query: detection-rules TOML and Kibana NDJSON.

The keys are those of elastic/detection-rules (``[metadata]`` and ``[rule]``, with
``[[rule.threat]]`` and ``[rule.alert_suppression]``) and of Kibana's rule import, which takes
one rule object a line. EQL has no summarize: a rule's per-host aggregation becomes alert
suppression, grouped by the same fields for the length of the window, so that each host raises
one alert per window, with the suppressed count and first and last times on the alert.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Final

import tomli_w
from rmmdetect_backends.eql.events import EventKind

from rmmdetect.attack import TACTICS
from rmmdetect.backend import RenderContext
from rmmdetect.model import Rule, Severity, Status

__all__ = ["TECHNIQUES", "detection_rules_toml", "kibana_ndjson", "rule_id"]

_NAMESPACE: Final = uuid.UUID("5b3f6d52-9c0e-4e8a-a6c2-2f3d1e7b9a40")
"""The namespace of the Elastic rule ids derived from rmmdetect rule ids."""

TECHNIQUES: Final[dict[str, str]] = {
    "T1021": "Remote Services",
    "T1071": "Application Layer Protocol",
    "T1071.001": "Web Protocols",
    "T1072": "Software Deployment Tools",
    "T1078": "Valid Accounts",
    "T1090": "Proxy",
    "T1105": "Ingress Tool Transfer",
    "T1133": "External Remote Services",
    "T1219": "Remote Access Tools",
    "T1219.001": "IDE Tunneling",
    "T1219.002": "Remote Desktop Software",
    "T1219.003": "Remote Access Hardware",
    "T1543": "Create or Modify System Process",
    "T1543.003": "Windows Service",
    "T1572": "Protocol Tunneling",
}
"""ATT&CK technique names (Enterprise, as attack.mitre.org names them today; T1219 was renamed
from Remote Access Software to Remote Access Tools in ATT&CK v17)."""

_SEVERITY: Final[dict[Severity, tuple[str, int]]] = {
    Severity.INFORMATIONAL: ("low", 21),
    Severity.LOW: ("low", 21),
    Severity.MEDIUM: ("medium", 47),
    Severity.HIGH: ("high", 73),
    Severity.CRITICAL: ("critical", 99),
}
"""Elastic's severity and its customary risk score; Elastic has no informational severity."""

_MATURITY: Final[dict[Status, str]] = {
    Status.EXPERIMENTAL: "experimental",
    Status.TEST: "beta",
    Status.STABLE: "production",
    Status.DEPRECATED: "deprecated",
}

_LINE_BREAKS: Final = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""What :meth:`str.splitlines` splits on besides the ones JSON always escapes."""

_UNIT_SECONDS: Final = {"m": 60, "h": 3600, "d": 86400}


def rule_id(rule: Rule) -> str:
    """Return the Elastic rule id: stable, derived from the rule's id."""
    return str(uuid.uuid5(_NAMESPACE, str(rule.id)))


def _technique(technique_id: str, name: str) -> dict[str, Any]:
    path = technique_id.replace(".", "/")
    return {
        "id": technique_id,
        "name": name,
        "reference": f"https://attack.mitre.org/techniques/{path}/",
    }


def _techniques(rule: Rule, context: RenderContext) -> list[dict[str, Any]]:
    parents: dict[str, dict[str, Any]] = {}
    for technique_id in rule.attack.techniques:
        parent_id = technique_id.split(".")[0]
        known = [name for name in (parent_id, technique_id) if name not in TECHNIQUES]
        if known:
            context.unsupported(f"ATT&CK technique {technique_id} (no name known for {known[0]})")
            continue
        parent = parents.setdefault(parent_id, _technique(parent_id, TECHNIQUES[parent_id]))
        if technique_id != parent_id:
            subtechnique = _technique(technique_id, TECHNIQUES[technique_id])
            parent.setdefault("subtechnique", []).append(subtechnique)
    return list(parents.values())


def _threat(rule: Rule, context: RenderContext) -> list[dict[str, Any]]:
    """Return the ATT&CK mapping: the techniques under the first tactic, as Elastic files them."""
    threat = []
    techniques = _techniques(rule, context)
    for position, name in enumerate(rule.attack.tactics):
        tactic = TACTICS[name]
        entry: dict[str, Any] = {"framework": "MITRE ATT&CK"}
        if position == 0 and techniques:
            entry["technique"] = techniques
        entry["tactic"] = {
            "id": tactic.id,
            "name": tactic.title,
            "reference": f"https://attack.mitre.org/tactics/{tactic.id}/",
        }
        threat.append(entry)
    return threat


def _interval(rule: Rule) -> str:
    """Run every hour, or as often as the window when it is shorter."""
    return rule.window if rule.lookback <= dt.timedelta(hours=1) else "1h"


def _duration(rule: Rule) -> dict[str, Any]:
    """Return the window in a unit Kibana's suppression takes (s, m or h)."""
    seconds = int(rule.window[:-1]) * _UNIT_SECONDS[rule.window[-1]]
    if seconds % 3600 == 0:
        return {"value": seconds // 3600, "unit": "h"}
    return {"value": seconds // 60, "unit": "m"}


def _suppression(rule: Rule, kind: EventKind, context: RenderContext) -> dict[str, Any] | None:
    aggregation = rule.aggregation
    if aggregation is None:
        return None
    missing = [name for name in aggregation.by if name not in kind.fields]
    if missing or len(aggregation.by) > 3:
        context.unsupported(f"alert suppression by {', '.join(aggregation.by)}")
        return None
    group_by = [kind.fields[name] for name in aggregation.by]
    context.approximated(
        f"aggregation: one alert per {', '.join(group_by)} per {rule.window} by alert "
        "suppression; the outputs are the alert's suppressed count and first and last times"
    )
    return {
        "group_by": group_by,
        "duration": _duration(rule),
        # An event lacking a group field raises its own alert rather than disappearing.
        "missing_fields_strategy": "doNotSuppress",
    }


def _tags(rule: Rule) -> list[str]:
    tactics = [f"Tactic: {TACTICS[name].title}" for name in rule.attack.tactics]
    return [
        "Domain: Endpoint",
        "OS: Windows",
        "Use Case: Threat Detection",
        *tactics,
        "Data Source: Elastic Defend",
    ]


def _rule(rule: Rule, query: str, kind: EventKind, context: RenderContext) -> dict[str, Any]:
    """Return the rule's fields shared by both formats, keys sorted, the query last."""
    severity, risk_score = _SEVERITY[rule.severity]
    fields: dict[str, Any] = {
        "author": [rule.author],
        "description": rule.description,
        "from": f"now-{rule.window}",
        "index": [kind.index],
        "interval": _interval(rule),
        "language": "eql",
        "name": rule.name,
        "references": list(rule.references),
        "risk_score": risk_score,
        "rule_id": rule_id(rule),
        "severity": severity,
        "tags": _tags(rule),
        "type": "eql",
        "query": query,
        "threat": _threat(rule, context),
    }
    suppression = _suppression(rule, kind, context)
    if suppression is not None:
        fields["alert_suppression"] = suppression
    return fields


def detection_rules_toml(rule: Rule, query: str, kind: EventKind, context: RenderContext) -> str:
    """Return the rule as an elastic/detection-rules TOML file."""
    updated = rule.modified or rule.date
    document = {
        "metadata": {
            "creation_date": rule.date.strftime("%Y/%m/%d"),
            "integration": ["endpoint"],
            "maturity": _MATURITY[rule.status],
            "updated_date": updated.strftime("%Y/%m/%d"),
        },
        "rule": _rule(rule, query, kind, context),
    }
    text = tomli_w.dumps(document, multiline_strings=True)
    return _literal_query(text, document["rule"]["query"])


def _literal_query(text: str, query: str) -> str:
    """Write the query as a ``'''`` literal block, as detection-rules does, where TOML allows.

    A literal string cannot hold ``'''`` nor control characters other than tab and newline;
    such a query keeps tomli_w's escaped basic string.
    """
    allowed = all(char in "\t\n" or not (ord(char) < 0x20 or ord(char) == 0x7F) for char in query)
    if "'''" in query or query.endswith("'") or not allowed:
        return text
    escaped = tomli_w.dumps({"query": query}, multiline_strings=True)
    return text.replace(escaped, f"query = '''\n{query}'''\n", 1)


def kibana_ndjson(rule: Rule, query: str, kind: EventKind, context: RenderContext) -> str:
    """Return the rule as one line of Kibana's rule-import NDJSON, disabled until reviewed."""
    fields = {**_rule(rule, query, kind, context), "enabled": False, "version": 1}
    line = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    # Characters some readers take for a line break are escaped, so the object stays one line.
    for char in _LINE_BREAKS:
        line = line.replace(char, f"\\u{ord(char):04x}")
    return line + "\n"
