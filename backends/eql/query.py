"""The EQL query of a rule: its event kind, the detection and the exclusions as ``not`` clauses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from rmmdetect_backends.eql.events import EVENTS, EventKind
from rmmdetect_backends.eql.literals import (
    comment,
    regex_contains,
    regex_endswith,
    regex_equals,
    regex_startswith,
    regex_term,
    string_literal,
    wildcard_safe,
)

from rmmdetect.backend import NoteKind, RenderContext
from rmmdetect.errors import UnsupportedFeatureError
from rmmdetect.model import AllOf, Condition, Match, Not, Operator, Rule, iter_matches
from rmmdetect.taxonomy import FIELDS

__all__ = ["Query"]

_WILDCARDS: Final[dict[Operator, str]] = {
    Operator.CONTAINS: "*{}*",
    Operator.STARTSWITH: "{}*",
    Operator.ENDSWITH: "*{}",
    Operator.HAS: "*{}*",
}
"""The wildcard pattern of each operator that has one; ``has`` is approximated by contains."""

_REGEXES: Final[dict[Operator, Callable[[str], str]]] = {
    Operator.EQUALS: regex_equals,
    Operator.CONTAINS: regex_contains,
    Operator.STARTSWITH: regex_startswith,
    Operator.ENDSWITH: regex_endswith,
    Operator.HAS: regex_contains,
}
"""The exact regular expression of each operator, for values a wildcard cannot hold."""

_WILDCARD: Final = {False: ":", True: "like"}
_REGEX: Final = {False: "regex~", True: "regex"}


def _predicate(column: str, operator: str, patterns: Sequence[str]) -> str:
    literals = [string_literal(pattern) for pattern in patterns]
    if len(literals) == 1 and operator not in ("in", "in~"):
        return f"{column} {operator} {literals[0]}"
    return f"{column} {operator} ({', '.join(literals)})"


class Query:
    """Renders one rule's condition trees over the event kind its detection needs."""

    def __init__(self, rule: Rule, context: RenderContext) -> None:
        self.rule = rule
        self.context = context
        self.has_regex = context.flag("has_regex")
        self.kind = self._kind()

    def _kind(self) -> EventKind:
        kinds = EVENTS[self.rule.data.category]
        fields = {match.field for match in iter_matches(self.rule.detection)}
        for kind in kinds:
            if fields <= kind.fields.keys():
                return kind
        missing = ", ".join(sorted(fields - kinds[-1].fields.keys()))
        events = f"Elastic Defend {kinds[-1].category} events"
        raise UnsupportedFeatureError("eql", self.rule.name, f"detection on {missing} in {events}")

    def match(self, match: Match, negated: bool = False) -> str | None:
        """Render a leaf, or return ``None`` where these events cannot express it.

        ``negated`` says the leaf sits under an odd number of negations (an exclusion is one):
        there a superset would remove too much, so ``has`` always renders exactly.
        """
        column = self.kind.fields.get(match.field)
        if column is None:
            return None
        if FIELDS[match.field].type == "ip":
            # An ip field has no case and no wildcard query: only equality applies.
            if match.op is not Operator.EQUALS:
                return None
            return _predicate(column, "in" if len(match.values) > 1 else "==", match.values)
        if match.op is Operator.HAS and (self.has_regex or negated):
            return _predicate(column, _REGEX[match.cased], [regex_term(v) for v in match.values])
        if match.op is Operator.HAS:
            # Approximation: EQL has no term match; '*value*' is a superset of has.
            self.context.approximated(
                f"has on {match.field} renders as a contains wildcard (no whole-term match in "
                "EQL; the option has_regex renders it exactly)"
            )
        if match.op is Operator.EQUALS:
            return _predicate(column, self._equality(match), match.values)
        return self._patterns(column, match)

    @staticmethod
    def _equality(match: Match) -> str:
        if match.cased:
            return "in" if len(match.values) > 1 else "=="
        # ':' without a wildcard is an exact case-insensitive equality; 'in~' is one that never
        # reads '*' or '?' as a wildcard.
        return ":" if all(wildcard_safe(value) for value in match.values) else "in~"

    def _patterns(self, column: str, match: Match) -> str:
        plain = [value for value in match.values if wildcard_safe(value)]
        special = [value for value in match.values if not wildcard_safe(value)]
        parts = []
        if plain:
            patterns = [_WILDCARDS[match.op].format(value) for value in plain]
            parts.append(_predicate(column, _WILDCARD[match.cased], patterns))
        if special:
            patterns = [_REGEXES[match.op](value) for value in special]
            parts.append(_predicate(column, _REGEX[match.cased], patterns))
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def group(self, node: Condition, negated: bool = False) -> str | None:
        """Render a tree without outer parentheses, or ``None`` if a leaf cannot be rendered."""
        if isinstance(node, Match):
            return self.match(node, negated)
        if isinstance(node, Not):
            inner = self.group(node.not_, not negated)
            return None if inner is None else f"not ({inner})"
        children = node.all if isinstance(node, AllOf) else node.any
        rendered = [self.term(child, negated) for child in children]
        if any(part is None for part in rendered):
            return None
        joiner = " and " if isinstance(node, AllOf) else " or "
        return joiner.join(part for part in rendered if part)

    def term(self, node: Condition, negated: bool = False) -> str | None:
        """Render a tree so that it can stand beside ``and``/``or``."""
        text = self.group(node, negated)
        if text is None or isinstance(node, Match | Not):
            return text
        children = node.all if isinstance(node, AllOf) else node.any
        return text if len(children) == 1 else f"({text})"

    def _missing(self, node: Condition) -> str:
        fields = [m.field for m in iter_matches(node) if self.match(m, negated=True) is None]
        return ", ".join(dict.fromkeys(fields))

    def detection(self) -> str:
        """Render the detection, or raise: a rule without its detection means nothing."""
        text = self.term(self.rule.detection)
        if text is None:
            raise UnsupportedFeatureError(
                "eql", self.rule.name, f"detection on {self._missing(self.rule.detection)}"
            )
        return text

    def exclusions(self) -> list[tuple[str, str]]:
        """Return each rendered exclusion's name and ``not (...)`` clause."""
        clauses: list[tuple[str, str]] = []
        for exclusion in self.rule.exclusions:
            rendered = self.group(exclusion.condition, negated=True)
            if rendered is None:
                self.context.unsupported(
                    f"exclusion '{exclusion.name}' (no {self._missing(exclusion.condition)} "
                    f"in Elastic Defend {self.kind.category} events)"
                )
                continue
            clauses.append((exclusion.name, f"not ({rendered})"))
        return clauses

    def body(self) -> str:
        """Return the query: the event kind, the detection and one line per exclusion."""
        clauses = [("", self.detection()), *self.exclusions()]
        lines = [f"{self.kind.head()} and"]
        for position, (name, clause) in enumerate(clauses):
            if name:
                lines.append(f"  /* Exclusion: {comment(name)} */")
            last = position == len(clauses) - 1
            lines.append(f"  {clause}" + ("" if last else " and"))
        left_out = [note.message for note in self.context.notes if note.kind in _LEFT_OUT]
        notes = [f"/* Left out: {comment(message)} */" for message in left_out]
        return "\n".join([*notes, *lines]) + "\n"


_LEFT_OUT: Final = (NoteKind.UNSUPPORTED, NoteKind.OMITTED)
