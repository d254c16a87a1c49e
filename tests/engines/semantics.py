"""A small model of how an engine compares text, to find events its known differences decide.

An engine may fold case or bound ``has`` terms differently from the reference evaluator outside
ASCII (docs/engines.md). :func:`diverges` tells whether any match of a rule comes out
differently on an event under the engine's rules than under the reference's; the adapters drop
such events and tests assert each difference on the real engine, so that the model is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from engines.events import Event
from rmmdetect import Rule
from rmmdetect.evaluator import matches
from rmmdetect.model import Match, Operator, iter_matches

__all__ = ["ASCII_FOLD", "UNICODE_SIMPLE_FOLD", "TextRules", "diverges"]


@dataclass(frozen=True)
class TextRules:
    """How an engine compares text.

    Attributes:
        fold: Its case folding of a whole string.
        term_char: Whether a character belongs to a ``has`` term.
    """

    fold: Callable[[str], str]
    term_char: Callable[[str], bool]


def _ascii_term(char: str) -> bool:
    return char.isascii() and char.isalnum()


UNICODE_SIMPLE_FOLD: Final = TextRules(
    fold=lambda text: "".join(char.lower()[:1] for char in text),
    term_char=lambda char: char.isalpha() or char.isnumeric(),
)
"""DuckDB: Unicode's simple lower-case mapping, one character to one; terms of Unicode
letters and digits (duckdb-kql)."""

ASCII_FOLD: Final = TextRules(
    fold=lambda text: "".join(char.lower() if char.isascii() else char for char in text),
    term_char=_ascii_term,
)
"""SQLite: ``NOCASE`` and ``LIKE`` fold ASCII letters only."""


def _has(rules: TextRules, text: str, needle: str) -> bool:
    size = len(needle)
    for start in (m.start() for m in re.finditer(re.escape(needle), text)):
        before = text[start - 1 : start]
        after = text[start + size : start + size + 1]
        if rules.term_char(needle[:1]) and before and rules.term_char(before):
            continue
        if rules.term_char(needle[-1:]) and after and rules.term_char(after):
            continue
        return True
    return False


def _engine_match(rules: TextRules, match: Match, event: Event) -> bool:
    found = event.get(match.field)
    if found is None:
        return False
    fold = (lambda value: value) if match.cased else rules.fold
    text = fold(str(found))
    comparisons: dict[Operator, Callable[[str, str], bool]] = {
        Operator.EQUALS: str.__eq__,
        Operator.CONTAINS: lambda value, text_: value in text_,
        Operator.STARTSWITH: lambda value, text_: text_.startswith(value),
        Operator.ENDSWITH: lambda value, text_: text_.endswith(value),
        Operator.HAS: lambda value, text_: _has(rules, text_, value),
    }
    compare = comparisons[match.op]
    return any(compare(fold(value), text) for value in match.values)


def diverges(rules: TextRules, rule: Rule, event: Event) -> bool:
    """Tell whether an engine comparing text by ``rules`` decides a match of the rule otherwise."""
    conditions = [rule.detection, *(x.condition for x in rule.exclusions)]
    leaves = [m for c in conditions for m in iter_matches(c)]
    return any(matches(m, event) != _engine_match(rules, m, event) for m in leaves)
