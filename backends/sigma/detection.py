"""Condition trees as Sigma detections: named selections and a condition over them.

A tree that is an or of ands of matches (after distributing ands over ors, up to
:data:`MAX_TERMS` terms) becomes one selection, the way SigmaHQ writes rules: a map of
``field|modifiers: value(s)`` items for an and, a list of such maps for an or, a list of values
for an any-of and the ``all`` modifier for two matches on the same key. Any other tree (one with
a ``not``) becomes several selections joined in the condition.

A match under an odd number of negations (a ``not``, or anywhere in an exclusion, which the
rule's condition negates) is never rendered as a superset: negated, a superset would keep fewer
events than the model. There ``has`` and a name held in a path take the exact ``|re`` forms of
:mod:`rmmdetect_backends.sigma.values`, and a hash ``equals`` keeps only its whole hashes, the
only ones Sysmon writes (none left: the match has no Sigma form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from rmmdetect_backends.sigma.fields import FIELDS, LOGSOURCES, Kind, SigmaField
from rmmdetect_backends.sigma.values import name_regex, sigma_string, term_regex

from rmmdetect.model import AllOf, AnyOf, Condition, DataCategory, Match, Not, Operator

__all__ = ["MAX_TERMS", "Compiled", "Compiler", "NoSigmaFieldError"]

MAX_TERMS: Final = 16
"""The most terms an or of ands may have to be written as one selection."""

_MODIFIERS: Final[dict[Operator, str]] = {
    Operator.EQUALS: "",
    Operator.CONTAINS: "contains",
    Operator.STARTSWITH: "startswith",
    Operator.ENDSWITH: "endswith",
    Operator.HAS: "contains",
}
"""The Sigma modifier of each operator on a field that holds the value itself."""

_BASENAME: Final[dict[Operator, tuple[str, str, bool]]] = {
    Operator.EQUALS: ("endswith", "\\", True),
    Operator.ENDSWITH: ("endswith", "", True),
    Operator.STARTSWITH: ("contains", "\\", False),
    Operator.CONTAINS: ("contains", "", False),
    Operator.HAS: ("contains", "", False),
}
"""Each operator on a name held in a path: (modifier, prefix to the value, exact)."""

_HASH_LENGTHS: Final = {"MD5": 32, "SHA1": 40, "SHA256": 64}

Values: TypeAlias = tuple[str, ...]
Item: TypeAlias = tuple[str, Values]
"""A rendered match: its ``field|modifiers`` key and its values."""


class NoSigmaFieldError(Exception):
    """A match the log source cannot express; carries the reason."""


@dataclass
class Compiled:
    """A condition tree as Sigma.

    Attributes:
        selections: Each selection's name and value, in order.
        condition: The condition over them.
        notes: What was approximated, one sentence each.
    """

    selections: dict[str, Any] = field(default_factory=dict)
    condition: str = ""
    notes: list[str] = field(default_factory=list)


class Compiler:
    """Compiles the condition trees of rules of one data category."""

    def __init__(self, category: DataCategory, *, has_regex: bool = False) -> None:
        self.category = category
        self.fields = FIELDS[category]
        self.has_regex = has_regex

    def compile(self, tree: Condition, prefix: str, *, negated: bool = False) -> Compiled:
        """Compile a tree into selections named ``prefix`` or ``prefix_<n>``.

        Args:
            tree: The condition tree.
            prefix: The name of its selection, or the prefix of its selections' names.
            negated: Whether the tree sits under a negation (an exclusion does).

        Raises:
            NoSigmaFieldError: A match names a field or operator the log source cannot express.
        """
        out = Compiled()
        whole = self._selection(tree, out.notes, negated)
        if whole is not None:
            out.selections[prefix] = whole
            out.condition = prefix
        else:
            out.condition = self._expression(tree, prefix, out, negated)
        return out

    # Matches

    def item(self, match: Match, notes: list[str], negated: bool = False) -> Item:
        """Render one match as a ``field|modifiers`` key and its values.

        A match under a negation is rendered exactly, never as a superset.
        """
        target = self.fields.get(match.field)
        if target is None:
            raise NoSigmaFieldError(
                f"{match.field}: no field in Sigma's {self._logsource} log source"
            )
        # Values that differ only in a case the match ignores are one value (SigmaHQ's rule).
        unique: dict[str, str] = {}
        for value in match.values:
            unique.setdefault(value if match.cased else value.lower(), value)
        match = match.model_copy(update={"values": tuple(unique.values())})
        render = {Kind.VALUE: self._value, Kind.BASENAME: self._basename, Kind.HASH: self._hash}
        modifier, values = render[target.kind](match, target, notes, negated)
        modifiers = [target.name, *([modifier] if modifier else [])]
        if match.cased and modifier != "re":
            modifiers.append("cased")
        return "|".join(modifiers), values

    @property
    def _logsource(self) -> str:
        logsource = LOGSOURCES[self.category]
        return f"{logsource['product']}/{logsource['category']}"

    def _value(
        self, match: Match, target: SigmaField, notes: list[str], negated: bool
    ) -> tuple[str, Values]:
        if match.op is Operator.HAS and (self.has_regex or negated):
            return "re", tuple(term_regex(value, match.cased) for value in match.values)
        if match.op is Operator.HAS:
            # Approximation: Sigma has no whole-term match; contains finds every term and more.
            notes.append(
                f"{match.field} has: rendered as {target.name}|contains, which also matches "
                "inside longer words (a superset; set the has_regex option for an exact match)"
            )
        return _MODIFIERS[match.op], tuple(sigma_string(value) for value in match.values)

    def _basename(
        self, match: Match, target: SigmaField, notes: list[str], negated: bool
    ) -> tuple[str, Values]:
        modifier, prefix, exact = _BASENAME[match.op]
        exact = exact and not any("\\" in value for value in match.values)
        if negated and not exact:
            # A name never holds a backslash: a value with one matches no name.
            values = tuple(
                name_regex(match.op, value, match.cased)
                for value in match.values
                if "\\" not in value
            )
            if not values:
                raise NoSigmaFieldError(
                    f"{match.field} {match.op}: every value holds a backslash, which no file "
                    "name does; negated, the match has no Sigma form"
                )
            return "re", values
        if not exact:
            # Approximation: the name is only reachable through the full path that holds it.
            notes.append(
                f"{match.field} {match.op}: rendered as {target.name}|{modifier} on the full "
                "path, which can also match a folder's name (a superset)"
            )
        return modifier, tuple(sigma_string(prefix + value) for value in match.values)

    def _hash(
        self, match: Match, target: SigmaField, notes: list[str], negated: bool
    ) -> tuple[str, Values]:
        algorithm = target.algorithm or ""
        if match.op not in (Operator.EQUALS, Operator.STARTSWITH):
            raise NoSigmaFieldError(
                f"{match.field} {match.op}: Sysmon's Hashes holds {algorithm}=value pairs, "
                "so only equals and startswith can be written"
            )
        values = match.values
        if match.op is Operator.EQUALS:
            length = _HASH_LENGTHS[algorithm]
            whole = tuple(value for value in values if len(value) == length)
            if negated:
                # Sysmon writes whole hashes only: a shorter or longer value equals none.
                if not whole:
                    raise NoSigmaFieldError(
                        f"{match.field} equals: no value is a whole {algorithm} hash, which is "
                        "all Sysmon writes; negated, the match has no Sigma form"
                    )
                values = whole
            elif len(whole) < len(values):
                notes.append(
                    f"{match.field} equals: a value that is not a whole {algorithm} hash also "
                    f"matches every hash that starts with it (a superset)"
                )
        return "contains", tuple(sigma_string(f"{algorithm}={value}") for value in values)

    # Selections

    def _selection(self, tree: Condition, notes: list[str], negated: bool) -> Any | None:
        terms = _terms(tree)
        if terms is None:
            return None
        maps = []
        for term in terms:
            mapping = _mapping([self.item(match, notes, negated) for match in term])
            if mapping is None:
                return None
            maps.append(mapping)
        return maps[0] if len(maps) == 1 else maps

    def _expression(self, tree: Condition, prefix: str, out: Compiled, negated: bool) -> str:
        selection = self._selection(tree, out.notes, negated)
        if selection is not None:
            name = f"{prefix}_{len(out.selections) + 1}"
            out.selections[name] = selection
            return name
        if isinstance(tree, Not):
            return f"not {_group(self._expression(tree.not_, prefix, out, not negated))}"
        if isinstance(tree, AllOf):
            children, joiner = tree.all, " and "
        else:
            assert isinstance(tree, AnyOf)  # a match always fits one selection
            children, joiner = tree.any, " or "
        parts = [_group(self._expression(child, prefix, out, negated)) for child in children]
        return joiner.join(parts)


def _group(expression: str) -> str:
    plain = " " not in expression or expression.startswith("not ")
    return expression if plain else f"({expression})"


def _terms(tree: Condition) -> list[list[Match]] | None:
    """Return the tree as an or of ands of matches, or ``None`` if it has a not or is too big."""
    if isinstance(tree, Match):
        return [[tree]]
    if isinstance(tree, Not):
        return None
    if isinstance(tree, AnyOf):
        terms: list[list[Match]] = []
        for child in tree.any:
            part = _terms(child)
            if part is None:
                return None
            terms.extend(part)
        return terms if len(terms) <= MAX_TERMS else None
    product: list[list[Match]] = [[]]
    for child in tree.all:
        part = _terms(child)
        if part is None or len(product) * len(part) > MAX_TERMS:
            return None
        product = [left + right for left in product for right in part]
    return product


def _mapping(items: list[Item]) -> dict[str, Any] | None:
    """Return an and of rendered matches as one map, or ``None`` if two keys cannot merge."""
    grouped: dict[str, list[Values]] = {}
    for key, values in items:
        grouped.setdefault(key, []).append(values)
    mapping: dict[str, Any] = {}
    for key, groups in grouped.items():
        if len(groups) == 1:
            values = groups[0]
            mapping[key] = values[0] if len(values) == 1 else list(values)
        elif all(len(values) == 1 for values in groups):
            unique = list(dict.fromkeys(values[0] for values in groups))
            if len(unique) == 1:
                mapping[key] = unique[0]
            else:
                mapping[f"{key}|all"] = unique
        else:
            return None
    return mapping
