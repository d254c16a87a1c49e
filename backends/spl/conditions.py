r"""A condition tree rendered as SPL: search terms where they are exact, ``where`` otherwise.

Two dialects:

* Search terms (``Signature="*Nanosystems*"``, ``process_name IN ("a", "b")``): the idiom of
  Splunk's own detections and the fastest, since the indexers filter. Values match
  case-insensitively and ``NOT field="x"`` keeps an event that lacks the field, as the model
  wants. A tree renders this way only when every leaf can: no ``cased`` match, no value with
  ``*`` (always a wildcard in a search term) or a control character, and no ``has`` under the
  ``has_regex`` option.
* ``where`` expressions: each leaf is ``(isnotnull(F) AND match(F, "regex"))`` with an escaped
  PCRE (``(?i)`` unless cased; ``\A``/``\z`` anchor equals, startswith and endswith). The
  ``isnotnull`` guard keeps a leaf on a missing field false rather than null, so ``NOT``
  stays exact. Case folding is PCRE's, which agrees with the model's for ASCII.

``has`` has no whole-term form in search terms: it renders as ``*value*``, a superset, and the
caller records the approximation. In a ``where`` expression, and everywhere under the
``has_regex`` option, it renders as the regex of
:func:`rmmdetect.evaluator.term_match`: no ASCII letter or digit right before or after the
value where the value itself starts or ends with one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from rmmdetect_backends.spl.quoting import quote, regex_literal, search_safe

from rmmdetect.model import AllOf, Condition, Match, Not, Operator, iter_matches

__all__ = ["ConditionRenderer", "term_regex"]

_TERMS: Final[dict[Operator, str]] = {
    Operator.EQUALS: "{}",
    Operator.CONTAINS: "*{}*",
    Operator.STARTSWITH: "{}*",
    Operator.ENDSWITH: "*{}",
    Operator.HAS: "*{}*",
}
"""The search-term pattern of each operator (``has`` as its superset, ``contains``)."""

_WORD: Final = "A-Za-z0-9"


def term_regex(value: str) -> str:
    r"""Return the PCRE of a whole-term match of ``value``, as the reference evaluator's.

    Example:
        >>> term_regex("S.R.L.")
        '(?<![A-Za-z0-9])S\\.R\\.L\\.'
    """
    before = f"(?<![{_WORD}])" if value[:1].isascii() and value[:1].isalnum() else ""
    after = f"(?![{_WORD}])" if value[-1:].isascii() and value[-1:].isalnum() else ""
    return before + regex_literal(value) + after


_REGEXES: Final[dict[Operator, Callable[[str], str]]] = {
    Operator.EQUALS: lambda body: rf"\A{body}\z",
    Operator.CONTAINS: lambda body: body,
    Operator.STARTSWITH: lambda body: rf"\A{body}",
    Operator.ENDSWITH: lambda body: rf"{body}\z",
    Operator.HAS: lambda body: body,
}
"""How each operator anchors the alternation of its values."""


def match_regex(match: Match) -> str:
    """Return the PCRE that selects exactly what ``match`` selects on one field's value."""
    piece = term_regex if match.op is Operator.HAS else regex_literal
    parts = [piece(value) for value in match.values]
    body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
    return ("" if match.cased else "(?i)") + _REGEXES[match.op](body)


@dataclass(frozen=True)
class ConditionRenderer:
    """Renders condition trees whose every field is in ``fields``.

    Attributes:
        fields: The Splunk field of each canonical field.
        has_regex: Render ``has`` exactly with a regex instead of a wildcard superset.
    """

    fields: Mapping[str, str]
    has_regex: bool = False

    def fits(self, node: Condition) -> bool:
        """Tell whether every field of the tree has a Splunk field here."""
        return all(m.field in self.fields for m in iter_matches(node))

    def searchable(self, node: Condition) -> bool:
        """Tell whether the tree renders exactly (up to ``has``) as search terms."""
        return all(self._leaf_searchable(m) for m in iter_matches(node))

    def _leaf_searchable(self, match: Match) -> bool:
        if match.cased or (match.op is Operator.HAS and self.has_regex):
            return False
        return all(search_safe(value) for value in match.values)

    def supersets(self, node: Condition) -> list[Match]:
        """Return the ``has`` leaves that render as a superset in :meth:`search`.

        In :meth:`where` every operator is exact: ``has`` is a term-boundary regex there.
        """
        return [m for m in iter_matches(node) if m.op is Operator.HAS and not self.has_regex]

    def search(self, node: Condition) -> str:
        """Render a tree as search terms; the caller checks :meth:`searchable` first."""
        return self._render(node, self._term, " ")

    def where(self, node: Condition) -> str:
        """Render a tree as a ``where`` expression."""
        return self._render(node, self._predicate, " AND ")

    def prefilter(self, match: Match) -> str | None:
        """Return a search term selecting a superset of ``match``, or None if none is safe."""
        if not all(search_safe(value) for value in match.values):
            return None
        return self._term(match.model_copy(update={"op": Operator.CONTAINS}))

    def regex_command(self, match: Match) -> str:
        """Return ``| regex F="..."`` selecting exactly the events ``match`` selects."""
        return f"| regex {self.fields[match.field]}={quote(match_regex(match))}"

    def _render(self, node: Condition, leaf: Callable[[Match], str], conjunction: str) -> str:
        if isinstance(node, Match):
            return leaf(node)
        if isinstance(node, Not):
            return "NOT " + self._render(node.not_, leaf, conjunction)
        children = node.all if isinstance(node, AllOf) else node.any
        joiner = conjunction if isinstance(node, AllOf) else " OR "
        parts = [self._render(child, leaf, conjunction) for child in children]
        return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"

    def _term(self, match: Match) -> str:
        field = self.fields[match.field]
        values = [quote(_TERMS[match.op].format(value)) for value in match.values]
        if len(values) == 1:
            return f"{field}={values[0]}"
        return f"{field} IN ({', '.join(values)})"

    def _predicate(self, match: Match) -> str:
        field = self.fields[match.field]
        return f"(isnotnull({field}) AND match({field}, {quote(match_regex(match))}))"
