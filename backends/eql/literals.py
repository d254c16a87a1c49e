r"""EQL string literals, wildcard patterns and Lucene regular expressions.

Elasticsearch's EQL reads a double-quoted string with backslash escapes (``\"``, ``\\``,
``\n``, ``\r``, ``\t``, ``\b``, ``\f``); any other character may stand as itself. A
wildcard pattern (``:``, ``like``) has no escape of its own: Elasticsearch turns ``*`` and ``?``
into wildcards and uses the control character U+0001 as its internal escape
(``org.elasticsearch.xpack.eql.util.StringUtils.toLikePattern``), while ``\`` stays literal.
A value holding one of those three characters therefore cannot be matched by a wildcard; it is
matched by an anchored Lucene regular expression (``regex``, ``regex~``) instead, which is exact.

Lucene's regular expressions match the whole string, have no anchors and no lookarounds, and
take a backslash before any character as that character.
"""

from __future__ import annotations

import re
import string
from typing import Final

__all__ = [
    "comment",
    "regex_contains",
    "regex_endswith",
    "regex_equals",
    "regex_startswith",
    "regex_term",
    "string_literal",
    "wildcard_safe",
]

_ESCAPES: Final = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}

_WILDCARD_SPECIAL: Final = frozenset("*?\x01")
"""Characters a wildcard pattern cannot hold literally in Elasticsearch's EQL."""

_WORD: Final = "A-Za-z0-9"
"""The characters a term is made of, as :func:`rmmdetect.evaluator.term_match` defines it."""

_REGEX_SPECIAL: Final = frozenset(string.punctuation)
"""ASCII punctuation: every Lucene operator is among it, and Python's ``re`` reads each escaped
one as itself too, so an escaped value means the same to both engines."""


def string_literal(value: str) -> str:
    r"""Return an EQL string literal whose value is ``value``.

    Example:
        >>> print(string_literal('C:\\Temp\\"a"'))
        "C:\\Temp\\\"a\""
    """
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def wildcard_safe(value: str) -> bool:
    """Tell whether ``value`` can sit literally inside an Elasticsearch EQL wildcard pattern."""
    return not _WILDCARD_SPECIAL.intersection(value)


def _escape(value: str) -> str:
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in value)


def regex_equals(value: str) -> str:
    """Return a Lucene regular expression matching exactly ``value``."""
    return _escape(value)


def regex_contains(value: str) -> str:
    """Return a Lucene regular expression matching any string that contains ``value``."""
    return f".*{_escape(value)}.*"


def regex_startswith(value: str) -> str:
    """Return a Lucene regular expression matching any string that starts with ``value``."""
    return f"{_escape(value)}.*"


def regex_endswith(value: str) -> str:
    """Return a Lucene regular expression matching any string that ends with ``value``."""
    return f".*{_escape(value)}"


def regex_term(value: str) -> str:
    r"""Return a Lucene regular expression matching a string that has ``value`` as whole terms.

    The boundary is :func:`rmmdetect.evaluator.term_match`'s: no letter or digit may come right
    before the value if it starts with one, nor right after it if it ends with one. With no
    lookaround, each side is an optional group: the string's edge, or a non-word character.

    Example:
        >>> regex_term("S.R.L")
        '(.*[^A-Za-z0-9])?S\\.R\\.L([^A-Za-z0-9].*)?'
    """
    word_start = re.match(f"[{_WORD}]", value) is not None
    word_end = re.search(f"[{_WORD}]$", value) is not None
    before = f"(.*[^{_WORD}])?" if word_start else ".*"
    after = f"([^{_WORD}].*)?" if word_end else ".*"
    return before + _escape(value) + after


def comment(text: str) -> str:
    """Return ``text`` made safe inside a ``/* */`` comment: one line, no ``*/`` nor ``/*``.

    Some of Elastic's grammars (ES|QL's, for one) nest block comments, so an opening ``/*`` is
    broken up too: the text is safe whether or not comments nest.
    """
    flat = "".join(" " if ord(char) < 0x20 or char in "\u2028\u2029\x85" else char for char in text)
    while "*/" in flat or "/*" in flat:
        flat = flat.replace("*/", "* /").replace("/*", "/ *")
    return flat
