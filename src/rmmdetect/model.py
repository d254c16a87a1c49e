"""The typed rule model: the one contract between rule files and every backend.

A rule says what to look for (``detection``, a condition tree over canonical field names from
:mod:`rmmdetect.taxonomy`), over how long (``window``), how to summarise what it finds
(``aggregation``) and which legitimate activity a site may exclude (``exclusions``). All models
are frozen and reject unknown keys.

Operator semantics, each case-insensitive unless the match says ``cased: true``:

* ``equals``: the field's whole value equals the value.
* ``contains``: the value occurs anywhere in the field.
* ``startswith`` / ``endswith``: the field begins / ends with the value.
* ``has``: the value occurs as whole terms, as Kusto defines it: the match may neither start
  right after nor end right before an ASCII letter or digit, unless the value itself starts or
  ends with a character that is not one. ``'Nanosystems S.R.L.'`` has ``'S.R.L'`` but not
  ``'system'``.
* any-of: a match with several ``values`` is true when any one of them matches.

Case folding is Python's :meth:`str.lower`, which for ASCII agrees with Kusto's ``=~`` and
Elasticsearch's case-insensitive operators. A match on a field that the event lacks is false.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from rmmdetect.attack import TACTICS, TECHNIQUE_PATTERN
from rmmdetect.errors import did_you_mean
from rmmdetect.taxonomy import FIELDS

__all__ = [
    "PLACEHOLDER",
    "AggregateFunction",
    "Aggregation",
    "AllOf",
    "AnyOf",
    "Attack",
    "Condition",
    "Connector",
    "DataCategory",
    "DataRequirement",
    "Exclusion",
    "Match",
    "Not",
    "Operator",
    "Output",
    "Rule",
    "Severity",
    "Status",
    "Tool",
    "iter_matches",
    "placeholder_name",
]

PLACEHOLDER: Final = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")
"""A site placeholder such as ``{{legitimate_supremo_msi_hash}}``; it must be a whole value."""

Text = Annotated[str, StringConstraints(min_length=1)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
_DURATION_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]*[mhd]", text):
        raise ValueError(
            f"'{text}' is not a duration; allowed: a whole number above 0 followed by "
            "m (minutes), h (hours) or d (days), e.g. 5d"
        )
    return text


Duration = Annotated[str, AfterValidator(_duration)]
"""A length of time: a whole number and a unit, ``m`` (minutes), ``h`` (hours) or ``d`` (days)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def placeholder_name(value: str) -> str | None:
    """Return the placeholder's name if ``value`` is a whole placeholder, else ``None``.

    Example:
        >>> placeholder_name("{{siem_server_ip}}")
        'siem_server_ip'
        >>> placeholder_name("sremo.exe") is None
        True
    """
    found = PLACEHOLDER.fullmatch(value)
    return found.group(1) if found else None


class Operator(StrEnum):
    """How a match compares a field with its values (see the module docstring)."""

    EQUALS = "equals"
    CONTAINS = "contains"
    STARTSWITH = "startswith"
    ENDSWITH = "endswith"
    HAS = "has"


class Match(_Frozen):
    """A leaf of the condition tree: one field compared with one or more values."""

    field: str
    """A canonical field name from :data:`rmmdetect.taxonomy.FIELDS`."""
    op: Operator
    """The comparison."""
    values: tuple[Text, ...] = Field(min_length=1)
    """The values; with more than one, the match is an any-of. Rule files may say ``value``."""
    cased: StrictBool = False
    """Compare case-sensitively."""

    @model_validator(mode="before")
    @classmethod
    def _single_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" in data:
            if "values" in data:
                raise ValueError("give either 'value' or 'values', not both")
            data = {**data, "values": [data["value"]]}
            del data["value"]
        return data

    @field_validator("field")
    @classmethod
    def _known_field(cls, name: str) -> str:
        if name not in FIELDS:
            raise ValueError(
                f"unknown field '{name}'{did_you_mean(name, FIELDS)}; "
                "fields are canonical ECS names listed in rmmdetect.taxonomy"
            )
        return name

    @field_validator("values")
    @classmethod
    def _whole_placeholders(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if PLACEHOLDER.search(value) and placeholder_name(value) is None:
                raise ValueError(
                    f"'{value}': a placeholder must be the whole value, e.g. '{{{{site_hash}}}}'"
                )
        return values


class AllOf(_Frozen):
    """True when every child condition is true."""

    all: tuple[Condition, ...] = Field(min_length=1)
    """The children."""


class AnyOf(_Frozen):
    """True when at least one child condition is true."""

    any: tuple[Condition, ...] = Field(min_length=1)
    """The children."""


class Not(_Frozen):
    """True when its child condition is false."""

    not_: Condition = Field(alias="not")
    """The negated condition."""


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "match"
    return _CONDITION_TAGS.get(type(value))


Condition = Annotated[
    Annotated[Match, Tag("match")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message=(
            "a condition is a mapping: {field, op, value|values[, cased]}, {all: [...]}, "
            "{any: [...]} or {not: {...}}"
        ),
    ),
]
"""A node of the condition tree."""

_CONDITION_TAGS: Final[dict[type, str]] = {Match: "match", AllOf: "all", AnyOf: "any", Not: "not"}


def iter_matches(condition: Condition) -> Iterator[Match]:
    """Yield every leaf of a condition tree, depth first, in order."""
    if isinstance(condition, Match):
        yield condition
    elif isinstance(condition, Not):
        yield from iter_matches(condition.not_)
    else:
        children = condition.all if isinstance(condition, AllOf) else condition.any
        for child in children:
            yield from iter_matches(child)


class Status(StrEnum):
    """How far a rule is along its life (Sigma's terms)."""

    EXPERIMENTAL = "experimental"
    TEST = "test"
    STABLE = "stable"
    DEPRECATED = "deprecated"


class Severity(StrEnum):
    """How urgent a hit is."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Attack(_Frozen):
    """The ATT&CK tactics and techniques a rule detects."""

    tactics: tuple[str, ...] = Field(min_length=1)
    """Tactic names as Sentinel spells them, e.g. ``CommandAndControl``."""
    techniques: tuple[str, ...] = Field(min_length=1)
    """Technique ids, e.g. ``T1219``."""

    @field_validator("tactics")
    @classmethod
    def _known_tactics(cls, tactics: tuple[str, ...]) -> tuple[str, ...]:
        for tactic in tactics:
            if tactic not in TACTICS:
                raise ValueError(
                    f"unknown tactic '{tactic}'{did_you_mean(tactic, TACTICS)}; "
                    f"allowed: {', '.join(TACTICS)}"
                )
        return tactics

    @field_validator("techniques")
    @classmethod
    def _technique_ids(cls, techniques: tuple[str, ...]) -> tuple[str, ...]:
        for technique in techniques:
            if not TECHNIQUE_PATTERN.fullmatch(technique):
                raise ValueError(
                    f"'{technique}' is not an ATT&CK technique id; "
                    "allowed: T followed by four digits, optionally .NNN (e.g. T1219)"
                )
        return techniques


class Tool(_Frozen):
    """The RMM tool a rule detects."""

    name: Text
    """The product's name, e.g. ``SupRemo``."""
    vendor: Text
    """Who makes it."""
    website: Url | None = None
    """The vendor's page for the product."""


class DataCategory(StrEnum):
    """The kind of event a rule reads; each backend maps it to its platform's source.

    Attributes:
        FILE_SIGNATURE: A file and the certificate it is signed with.
        PROCESS: A process start.
        NETWORK: A network connection made by a process.
    """

    FILE_SIGNATURE = "file_signature"
    PROCESS = "process"
    NETWORK = "network"


class Connector(_Frozen):
    """A Sentinel data connector and the tables of it that a rule reads."""

    id: Text
    """The connector's id, e.g. ``MicrosoftThreatProtection``."""
    data_types: tuple[Text, ...] = Field(min_length=1)
    """The tables, e.g. ``DeviceFileCertificateInfo``."""


class DataRequirement(_Frozen):
    """The data a rule needs."""

    category: DataCategory
    """The kind of event."""
    connectors: tuple[Connector, ...] = ()
    """The Sentinel connectors that deliver it."""


class AggregateFunction(StrEnum):
    """How an aggregation output summarises a group.

    Attributes:
        MIN: The smallest value (for ``@timestamp``: the first seen).
        MAX: The largest value (for ``@timestamp``: the last seen).
        VALUES: The set of distinct values.
        COUNT: The number of events; takes no field.
    """

    MIN = "min"
    MAX = "max"
    VALUES = "values"
    COUNT = "count"


class Output(_Frozen):
    """One column of an aggregation's result."""

    name: Identifier
    """The column's name, e.g. ``FirstSeen``."""
    function: AggregateFunction
    """The summary."""
    field: str | None = None
    """The canonical field summarised; ``count`` takes none, every other function needs one."""

    @model_validator(mode="after")
    def _field_matches_function(self) -> Output:
        if (self.function is AggregateFunction.COUNT) != (self.field is None):
            need = "takes no field" if self.function is AggregateFunction.COUNT else "needs a field"
            raise ValueError(f"function '{self.function}' {need}")
        if self.field is not None and self.field not in FIELDS:
            raise ValueError(f"unknown field '{self.field}'{did_you_mean(self.field, FIELDS)}")
        return self


class Aggregation(_Frozen):
    """How the events a rule selects are summarised: one row per group."""

    by: tuple[str, ...] = Field(min_length=1)
    """The canonical fields that form a group, e.g. ``host.id`` and ``host.name``."""
    outputs: tuple[Output, ...] = Field(min_length=1)
    """The summary columns, in order."""

    @field_validator("by")
    @classmethod
    def _known_fields(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        for name in fields:
            if name not in FIELDS:
                raise ValueError(f"unknown field '{name}'{did_you_mean(name, FIELDS)}")
        return fields

    @model_validator(mode="after")
    def _unique_names(self) -> Aggregation:
        names = [output.name for output in self.outputs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"output names must be unique; repeated: {', '.join(duplicates)}")
        return self


class Exclusion(_Frozen):
    """A false-positive scenario: legitimate activity a site may remove from the results.

    The scenario's filter is the negation of ``condition``: an event is kept unless the
    condition holds. Values may be site placeholders such as ``{{approved_admin_host}}``.
    """

    name: Text
    """A short title of the scenario."""
    description: Text
    """What the legitimate activity is."""
    condition: Condition
    """The events the scenario covers."""

    def placeholders(self) -> tuple[str, ...]:
        """Return the names of the placeholders in the condition, in order, without repeats."""
        names = (placeholder_name(v) for m in iter_matches(self.condition) for v in m.values)
        return tuple(dict.fromkeys(name for name in names if name is not None))


class Rule(_Frozen):
    """A detection rule: metadata, detection, window, aggregation and exclusions."""

    id: uuid.UUID
    """A stable UUID; it never changes once published."""
    name: Text
    """A one-line title."""
    description: Text
    """What the rule finds and why it matters."""
    references: tuple[Url, ...] = ()
    """Public sources the rule's facts come from."""
    author: Text
    """Who wrote the rule."""
    date: dt.date
    """When the rule was first written."""
    modified: dt.date | None = None
    """When the rule last changed."""
    status: Status
    """How far the rule is along its life."""
    severity: Severity
    """How urgent a hit is."""
    attack: Attack
    """The ATT&CK mapping."""
    tool: Tool
    """The RMM tool detected."""
    data: DataRequirement
    """The data the rule needs."""
    detection: Condition
    """What to look for."""
    window: Duration
    """How far back to look, e.g. ``5d``."""
    aggregation: Aggregation | None = None
    """How to summarise the events found; ``None`` returns them one by one."""
    exclusions: tuple[Exclusion, ...] = ()
    """False-positive scenarios a site may exclude."""
    notes: str | None = None
    """The author's notes: choices made, which source was followed and why."""

    @field_validator("detection")
    @classmethod
    def _no_placeholders(cls, detection: Condition) -> Condition:
        for match in iter_matches(detection):
            for value in match.values:
                if placeholder_name(value):
                    raise ValueError(
                        f"'{value}': placeholders are allowed in exclusions only, "
                        "the detection must be complete"
                    )
        return detection

    @field_validator("exclusions")
    @classmethod
    def _unique_exclusions(cls, exclusions: tuple[Exclusion, ...]) -> tuple[Exclusion, ...]:
        seen: set[str] = set()
        for exclusion in exclusions:
            key = exclusion.name.lower()
            if key in seen:
                raise ValueError(f"exclusion names must be unique; repeated: '{exclusion.name}'")
            seen.add(key)
        return exclusions

    @property
    def lookback(self) -> dt.timedelta:
        """The window as a :class:`~datetime.timedelta`."""
        unit = _DURATION_UNITS[self.window[-1]]
        return dt.timedelta(**{unit: int(self.window[:-1])})


for _model in (AllOf, AnyOf, Not, Exclusion, Rule):
    _model.model_rebuild()
