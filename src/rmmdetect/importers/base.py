"""What every importer shares: the options for metadata a format cannot carry, and the contract.

An importer reads one file of another format and returns a validated :class:`~rmmdetect.model.Rule`.
It declares which rule fields the format carries (``CARRIES``) and which it cannot (``DROPS``);
a dropped field takes its value from :class:`ImportOptions`, so that nothing is invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from rmmdetect.errors import UnsupportedQueryError
from rmmdetect.model import Operator, Rule, Severity, Status

__all__ = [
    "RULE_FIELDS",
    "WILDCARD_OPERATORS",
    "ImportOptions",
    "Importer",
    "build_rule",
    "dropped",
]

WILDCARD_OPERATORS: Final[dict[tuple[bool, bool], Operator]] = {
    (False, False): Operator.EQUALS,
    (True, True): Operator.CONTAINS,
    (False, True): Operator.STARTSWITH,
    (True, False): Operator.ENDSWITH,
}
"""The operator a wildcard pattern stands for, by (leading ``*``, trailing ``*``)."""

RULE_FIELDS: Final = tuple(Rule.model_fields)
"""Every field of a rule, in the model's order; an importer's CARRIES and DROPS split them."""


def dropped(carries: tuple[str, ...]) -> tuple[str, ...]:
    """Return the rule fields a format does not carry, in the model's order."""
    return tuple(name for name in RULE_FIELDS if name not in carries)


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """Values for the rule fields that an imported format cannot carry.

    Attributes:
        tool: The RMM tool's name.
        vendor: The tool's vendor.
        author: Who wrote the rule.
        date: When the rule was written; today when ``None``.
        status: The rule's status.
        severity: The rule's severity, where the format has none.
        references: Public sources for the rule.
        notes: The author's notes.
        window: The lookback, where the format has none (e.g. ``1d``).
        description: The description, where the format has none.
        tactics: ATT&CK tactics, where the format has none (RMM abuse is command and control).
        techniques: ATT&CK techniques, where the format has none (T1219, remote access tools).
    """

    tool: str = "Unknown"
    vendor: str = "Unknown"
    author: str = "Unknown"
    date: dt.date | None = None
    status: Status = Status.EXPERIMENTAL
    severity: Severity = Severity.MEDIUM
    references: tuple[str, ...] = ()
    notes: str | None = None
    window: str = "1d"
    description: str = "Imported; the source format carries no description."
    tactics: tuple[str, ...] = ("CommandAndControl",)
    techniques: tuple[str, ...] = ("T1219",)

    def defaults(self) -> dict[str, Any]:
        """Return the rule fields these options fill in."""
        return {
            "tool": {"name": self.tool, "vendor": self.vendor},
            "author": self.author,
            "date": self.date or dt.date.today(),
            "status": self.status,
            "severity": self.severity,
            "references": self.references,
            "notes": self.notes,
            "exclusions": (),
            "modified": None,
            "window": self.window,
            "description": self.description,
            "attack": {"tactics": self.tactics, "techniques": self.techniques},
            "aggregation": None,
        }


@dataclass(frozen=True)
class Importer:
    """One importable format.

    Attributes:
        name: The format's name, as ``rmmdetect import --from`` takes it.
        description: One line for help texts.
        read: Reads a file's text (its path names it in errors) into a rule.
        carries: The rule fields the format carries.
        drops: The rule fields it cannot carry, filled from :class:`ImportOptions`.
    """

    name: str
    description: str
    read: Callable[[str, Path, ImportOptions], Rule]
    carries: tuple[str, ...]
    drops: tuple[str, ...] = field(default=())


def build_rule(carried: Mapping[str, Any], options: ImportOptions, path: Path) -> Rule:
    """Complete the carried fields with the options' values and validate the rule.

    Raises:
        UnsupportedQueryError: The carried values do not make a valid rule.
    """
    data = {**options.defaults(), **carried}
    try:
        return Rule.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UnsupportedQueryError(
            f"the imported rule is not valid: {message}", path=path, field=where
        ) from None
