"""Writing rules back to rule-file YAML that :func:`rmmdetect.load_rules` reads to an equal model.

The YAML is built from the model, never from strings: keys follow the model's field order,
fields left at their default are omitted, a match with one value says ``value:`` and one with
several ``values:``, dates are written ``YYYY-MM-DD`` and multi-line text as a literal block
wherever YAML allows one.

Example:
    >>> import rmmdetect
    >>> rule = rmmdetect.load_catalog().get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6")
    >>> print(dump_rule(rule).splitlines()[0])
    id: a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from rmmdetect.model import Rule
from rmmdetect.yamltext import dump_yaml_all

__all__ = ["dump_rule", "dump_rules"]

_DATE_FIELDS: Final = ("date", "modified")
_CONDITION_KEYS: Final = ("detection",)


def _condition(node: Any) -> Any:
    """Rewrite a dumped condition tree so a single value reads ``value:``."""
    if not isinstance(node, dict):
        return node
    if "values" in node:
        values = node["values"]
        key, value = ("value", values[0]) if len(values) == 1 else ("values", values)
        return {k if k != "values" else key: v if k != "values" else value for k, v in node.items()}
    return {key: _children(key, value) for key, value in node.items()}


def _children(key: str, value: Any) -> Any:
    if key in ("all", "any"):
        return [_condition(child) for child in value]
    if key == "not":
        return _condition(value)
    return value


def _document(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for key in _DATE_FIELDS:
        if key in data:
            data[key] = dt.date.fromisoformat(data[key])
    data["detection"] = _condition(data["detection"])
    for exclusion in data.get("exclusions", ()):
        exclusion["condition"] = _condition(exclusion["condition"])
    return data


def dump_rule(rule: Rule) -> str:
    """Return one rule as a rule-file YAML document.

    Args:
        rule: A validated rule.

    Returns:
        YAML text that :func:`rmmdetect.load_rules` reads back to a rule equal to ``rule``.
    """
    return dump_rules([rule])


def dump_rules(rules: Iterable[Rule]) -> str:
    """Return several rules as one YAML stream, a document each.

    Args:
        rules: Validated rules, in the order to write them.

    Returns:
        YAML text; documents after the first start with ``---``.
    """
    return dump_yaml_all([_document(rule) for rule in rules])
