r"""Import a Sigma rule through pySigma's parser (``SigmaRule.from_dict``).

It reads the Sigma that rmmdetect's Sigma backend writes and SigmaHQ rules of the same shapes:
log sources ``windows/image_load`` (signer), ``windows/process_creation`` and
``windows/network_connection``; the modifiers ``contains``, ``startswith``, ``endswith``,
``cased``, ``all`` and ``re`` (only a whole-term regular expression, read as ``has``); lists as
any-of; conditions of and, or, not, selections and ``1 of`` / ``all of`` patterns. Each
top-level ``and not <filter_*...>`` of the condition becomes an exclusion, named after the
``falsepositives`` entry whose name it was derived from, if any. Fields map back to canonical
fields through :mod:`rmmdetect.importers.sigma_fields`; anything else is refused.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.exceptions import SigmaError
from sigma.modifiers import (
    SigmaAllModifier,
    SigmaCaseSensitiveModifier,
    SigmaContainsModifier,
    SigmaEndswithModifier,
    SigmaRegularExpressionModifier,
    SigmaStartswithModifier,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaCasedString, SigmaRegularExpression, SigmaString, SpecialChars

from rmmdetect.attack import TACTICS, TECHNIQUE_PATTERN
from rmmdetect.errors import UnsupportedQueryError
from rmmdetect.importers.base import WILDCARD_OPERATORS, ImportOptions, build_rule, dropped
from rmmdetect.importers.sigma_fields import CATEGORIES, FIELDS, HASH_LENGTHS, SigmaPlace
from rmmdetect.loader import Document, load_yaml_documents
from rmmdetect.model import AllOf, AnyOf, Condition, DataCategory, Match, Not, Operator, Rule

__all__ = ["CARRIES", "DROPS", "read_sigma"]

CARRIES: Final = (
    "id",
    "name",
    "description",
    "references",
    "author",
    "date",
    "modified",
    "status",
    "severity",
    "attack",
    "detection",
    "exclusions",
)
"""The rule fields a Sigma rule carries. An exclusion's description is not carried: it reads
as the exclusion's name."""

DROPS: Final = dropped(CARRIES)
"""The rule fields Sigma cannot carry. Of ``data`` only the category is carried (by the log
source); Sentinel connectors are not."""

_MODIFIERS: Final = frozenset(
    {
        SigmaContainsModifier,
        SigmaStartswithModifier,
        SigmaEndswithModifier,
        SigmaCaseSensitiveModifier,
        SigmaAllModifier,
        SigmaRegularExpressionModifier,
    }
)

_WORD: Final = "A-Za-z0-9"
_BEFORE: Final = f"(?:^|[^{_WORD}])"
_AFTER: Final = f"(?:[^{_WORD}]|$)"
_REGEX_SPECIAL: Final = frozenset("\\.^$|?*+()[]{}")
_SUPPORTED: Final = (
    "supported: modifiers contains, startswith, endswith, cased, all, and re for a whole-term match"
)


def _term(pattern: str) -> tuple[str, bool] | None:
    """Return ``(needle, cased)`` if ``pattern`` is a whole-term regular expression, else None."""
    cased = not pattern.startswith("(?i)")
    body = pattern.removeprefix("(?i)")
    before, after = body.startswith(_BEFORE), body.endswith(_AFTER)
    body = body.removeprefix(_BEFORE) if before else body
    body = body.removesuffix(_AFTER) if after else body
    chars: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            if char not in _REGEX_SPECIAL:
                return None
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _REGEX_SPECIAL:
            return None
        else:
            chars.append(char)
    needle = "".join(chars)
    word = re.compile(f"[{_WORD}]")
    if escaped or not needle:
        return None
    if before != bool(word.match(needle[0])) or after != bool(word.match(needle[-1])):
        return None
    return needle, cased


class _Reader:
    """Reads one parsed Sigma rule's detection into conditions, naming the part it refuses."""

    def __init__(self, rule: SigmaRule, document: Document) -> None:
        self.rule = rule
        self.document = document
        logsource = (rule.logsource.product or "", rule.logsource.category or "")
        category = CATEGORIES.get(logsource)
        if category is None or rule.logsource.service:
            supported = ", ".join("/".join(key) for key in CATEGORIES)
            self.refuse(
                f"log source {rule.logsource.product}/{rule.logsource.category} is not "
                f"supported; supported: {supported}",
                ("logsource",),
            )
        self.category: DataCategory = category  # type: ignore[assignment]
        self.fields = FIELDS[self.category]
        self.detections: dict[str, SigmaDetection] = rule.detection.detections

    def refuse(self, problem: str, location: Sequence[str | int]) -> None:
        raise UnsupportedQueryError(
            problem,
            path=self.document.path,
            line=self.document.line_of(location),
            field=".".join(str(part) for part in location),
        )

    # Values

    def value(self, item: SigmaDetectionItem, value: Any, where: tuple[str | int, ...]) -> Match:
        field = item.field or ""
        place = self.fields.get(field)
        if place is None:
            self.refuse(
                f"field '{field}' cannot be imported from {self.rule.logsource.category}; "
                f"readable fields: {', '.join(self.fields)}",
                where,
            )
        assert place is not None
        if isinstance(value, SigmaRegularExpression):
            term = _term(str(value.regexp))
            if term is None or place.field is None or place.name_field or place.hashes:
                self.refuse(
                    f"regular expression '{value.regexp}' on {field} is not a whole-term match; "
                    + _SUPPORTED,
                    where,
                )
            assert term is not None and place.field is not None
            return Match(field=place.field, op=Operator.HAS, values=(term[0],), cased=term[1])
        if not isinstance(value, SigmaString):
            self.refuse(f"{type(value).__name__} values cannot be imported on {field}", where)
        parts = list(value.s)
        lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
        trail = len(parts) > int(lead) and parts[-1] is SpecialChars.WILDCARD_MULTI
        inner = parts[int(lead) : len(parts) - int(trail)]
        if not inner or not all(isinstance(part, str) for part in inner):
            self.refuse(
                f"value '{value}' of {field} has a wildcard inside it or nothing but wildcards; "
                "only a leading and a trailing '*' can be read",
                where,
            )
        text = "".join(str(part) for part in inner)
        return self.place(
            place,
            WILDCARD_OPERATORS[(lead, trail)],
            text,
            isinstance(value, SigmaCasedString),
            where,
        )

    def place(
        self, place: SigmaPlace, op: Operator, text: str, cased: bool, where: tuple[str | int, ...]
    ) -> Match:
        if place.hashes:
            algorithm, _, digest = text.partition("=")
            fields = dict(place.hashes)
            if (
                op is not Operator.CONTAINS
                or algorithm not in fields
                or (len(digest) != HASH_LENGTHS[algorithm])
            ):
                self.refuse(
                    f"'{text}': Hashes can only be read as |contains 'ALGO=<whole hash>' with "
                    f"ALGO one of {', '.join(fields)}",
                    where,
                )
            return Match(field=fields[algorithm], op=Operator.EQUALS, values=(digest,))
        if place.name_field and op is Operator.ENDSWITH and re.fullmatch(r"\\[^\\]+", text):
            return Match(
                field=place.name_field, op=Operator.EQUALS, values=(text[1:],), cased=cased
            )
        if place.field is None:
            self.refuse(
                f"'{text}': only |endswith '\\<name>' can be read here ({place.name_field})", where
            )
        assert place.field is not None
        return Match(field=place.field, op=op, values=(text,), cased=cased)

    # Selections

    def item(self, item: SigmaDetectionItem, where: tuple[str | int, ...]) -> Condition:
        unknown = [m.__name__ for m in item.modifiers if m not in _MODIFIERS]
        if unknown:
            self.refuse(f"modifier(s) {', '.join(unknown)} on {item.field}; {_SUPPORTED}", where)
        if item.field is None:
            self.refuse("a keyword search (no field) cannot be imported", where)
        matches = [self.value(item, value, where) for value in item.value]
        if item.value_linking is ConditionAND:
            return matches[0] if len(matches) == 1 else AllOf(all=tuple(matches))
        return _any_of(matches)

    def selection(self, detection: SigmaDetection, where: tuple[str | int, ...]) -> Condition:
        children: list[Condition] = []
        for index, child in enumerate(detection.detection_items):
            if isinstance(child, SigmaDetection):
                children.append(self.selection(child, (*where, index)))
            else:
                children.append(self.item(child, where))
        if len(children) == 1:
            return children[0]
        if detection.item_linking is ConditionAND:
            return AllOf(all=tuple(children))
        return _any_of(children)

    def named(self, name: str) -> Condition:
        return self.selection(self.detections[name], ("detection", name))

    def names(self, pattern: str) -> list[str]:
        if pattern == "them":
            return list(self.detections)
        return [name for name in self.detections if fnmatch.fnmatchcase(name, pattern)]

    def expression(self, node: Any) -> Condition:
        if isinstance(node, ConditionIdentifier):
            return self.named(node.identifier)
        if isinstance(node, ConditionSelector):
            children = [self.named(name) for name in self.names(node.pattern)]
            if not children:
                self.refuse(f"'{node.pattern}' names no selection", ("detection", "condition"))
            if len(children) == 1:
                return children[0]
            if node.cond_class is ConditionAND:
                return AllOf(all=tuple(children))
            return AnyOf(any=tuple(children))
        if isinstance(node, ConditionNOT):
            return Not(not_=self.expression(node.args[0]))
        children = [self.expression(arg) for arg in node.args]
        if isinstance(node, ConditionAND):
            return AllOf(all=tuple(children))
        if isinstance(node, ConditionOR):
            return AnyOf(any=tuple(children))
        self.refuse(f"condition part {type(node).__name__}", ("detection", "condition"))
        raise AssertionError  # refuse() always raises

    # The rule

    def split(self) -> tuple[Condition, list[tuple[list[str], Condition]]]:
        """Return the detection and each exclusion's selection names and condition."""
        conditions = self.rule.detection.parsed_condition
        if len(conditions) != 1:
            self.refuse("a rule with several conditions", ("detection", "condition"))
        top = conditions[0].parse(postprocess=False)
        parts = list(top.args) if isinstance(top, ConditionAND) else [top]
        detection: list[Condition] = []
        exclusions: list[tuple[list[str], Condition]] = []
        for part in parts:
            names = _identifiers(part, self.names)
            if (
                isinstance(part, ConditionNOT)
                and names
                and all(name.startswith("filter") for name in names)
            ):
                inner = part.args[0]
                if isinstance(inner, ConditionSelector) and inner.cond_class is ConditionOR:
                    exclusions.extend(([name], self.named(name)) for name in names)
                else:
                    exclusions.append((names, self.expression(inner)))
            else:
                detection.append(self.expression(part))
        if not detection:
            self.refuse("the condition selects nothing but exclusions", ("detection", "condition"))
        return (detection[0] if len(detection) == 1 else AllOf(all=tuple(detection))), exclusions


def _identifiers(node: Any, names: Callable[[str], list[str]]) -> list[str]:
    if isinstance(node, ConditionIdentifier):
        return [node.identifier]
    if isinstance(node, ConditionSelector):
        return names(node.pattern)
    return [name for arg in getattr(node, "args", ()) for name in _identifiers(arg, names)]


def _any_of(children: Sequence[Condition]) -> Condition:
    first = children[0]
    if len(children) == 1:
        return first
    key = (first.field, first.op, first.cased) if isinstance(first, Match) else None
    if key and all(isinstance(c, Match) and (c.field, c.op, c.cased) == key for c in children):
        values = tuple(v for c in children if isinstance(c, Match) for v in c.values)
        return Match(field=key[0], op=key[1], values=values, cased=key[2])
    return AnyOf(any=tuple(children))


def _slug(text: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _exclusion_name(names: list[str], falsepositives: Sequence[str]) -> str:
    """Name an exclusion after the false positive its selections' names were derived from.

    A selection ``filter_<slug>`` (or ``filter_<slug>_<n>``) takes its slug from the
    exclusion's name, cut after a word; the false positive whose slug starts with it is the name.
    """
    for text in falsepositives:
        full = _slug(text)
        if full and all(_derived(name, full) for name in names):
            return text
    return " / ".join(names)


def _derived(name: str, full: str) -> bool:
    slug = name.removeprefix("filter_")
    return any(full == c or full.startswith(c + "_") for c in (slug, re.sub(r"_\d+$", "", slug)))


def _attack(rule: SigmaRule, document: Document) -> dict[str, list[str]]:
    short_names = {tactic.short_name: name for name, tactic in TACTICS.items()}
    tactics: list[str] = []
    techniques: list[str] = []
    for tag in rule.tags:
        if tag.namespace != "attack":
            continue
        if tag.name in short_names:
            tactics.append(short_names[tag.name])
        elif TECHNIQUE_PATTERN.fullmatch(tag.name.upper()):
            techniques.append(tag.name.upper())
    if not tactics or not techniques:
        raise UnsupportedQueryError(
            "needs an ATT&CK tactic tag (e.g. attack.command-and-control) and a technique tag "
            "(e.g. attack.t1219)",
            path=document.path,
            line=document.line_of(("tags",)),
            field="tags",
        )
    return {"tactics": tactics, "techniques": techniques}


def _document(text: str, path: Path) -> Document:
    documents = load_yaml_documents(path, text)
    if len(documents) != 1 or not isinstance(documents[0].data, Mapping):
        raise UnsupportedQueryError(
            f"a Sigma rule file holds one rule document, not {len(documents)} documents "
            "(import a correlation or a rule with separate filters one rule at a time)",
            path=path,
        )
    return documents[0]


def read_sigma(text: str, path: Path, options: ImportOptions) -> Rule:
    """Read a Sigma rule into a rule.

    Args:
        text: The Sigma rule's YAML.
        path: The file, named in errors.
        options: Values for the fields listed in :data:`DROPS`, and for an author or date the
            rule lacks.

    Returns:
        The rule.

    Raises:
        RuleFileError: The file is not valid YAML.
        UnsupportedQueryError: pySigma rejects the rule, or a log source, field, modifier,
            value or condition is outside the supported shapes; the message names the part.
    """
    document = _document(text, path)
    try:
        rule = SigmaRule.from_dict(dict(document.data))
    except SigmaError as error:
        raise UnsupportedQueryError(f"pySigma rejects the rule: {error}", path=path) from None
    reader = _Reader(rule, document)
    detection, exclusions = reader.split()
    falsepositives = [str(text) for text in rule.falsepositives]
    carried: dict[str, Any] = {
        "id": str(rule.id) if rule.id else None,
        "name": rule.title,
        "description": rule.description,
        "references": tuple(rule.references),
        "status": rule.status.name.lower() if rule.status else options.status,
        "severity": rule.level.name.lower() if rule.level else options.severity,
        "attack": _attack(rule, document),
        "data": {"category": reader.category},
        "detection": detection,
        "exclusions": [
            {"name": name, "description": name, "condition": condition}
            for name, condition in (
                (_exclusion_name(names, falsepositives), condition)
                for names, condition in exclusions
            )
        ],
    }
    if rule.author:
        carried["author"] = rule.author
    if rule.date:
        carried["date"] = rule.date
    if rule.modified:
        carried["modified"] = rule.modified
    return build_rule(carried, options, path)
