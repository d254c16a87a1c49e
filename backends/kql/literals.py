"""Kusto string literals and comments that read back as exactly the value given.

Kusto's single-quoted string literal takes backslash escapes (learn.microsoft.com/kusto/query/
scalar-data-types/string). Every character that could end the literal or the line is escaped,
so that no value from a rule file can break out of it.
"""

from __future__ import annotations

from typing import Final

__all__ = ["comment", "string_literal"]

_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in "\u2028\u2029":
        return f"\\u{ord(char):04x}"
    return char


def string_literal(value: str) -> str:
    r"""Return a Kusto string literal whose value is ``value``.

    Example:
        >>> string_literal("it's")
        "'it\\\\'s'"
    """
    return "'" + "".join(_escape(char) for char in value) + "'"


def comment(text: str) -> str:
    """Return ``text`` made safe for a ``//`` comment: one line, no control characters."""
    return "".join(" " if ord(char) < 0x20 or char in "\u2028\u2029\x85" else char for char in text)
