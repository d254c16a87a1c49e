r"""SPL literals that read back as exactly the value given: quoting, regexes, comments, .conf.

No SPL parser or engine can run offline, so the SPL backend's guarantees rest on this module's
exact rules, its unit and property tests, and golden files. The rules, from Splunk's search
reference:

* A quoted value is wrapped in ``"``; inside it ``\`` and ``"`` are escaped with a backslash
  (``\\`` and ``\"``) and every other character stands for itself. :func:`quote` applies
  exactly that rule and nothing else.
* In a search term (``field="value"``, ``field IN (...)``) an asterisk is always a wildcard,
  quoted or not, and there is no escape for it. A value holding ``*`` therefore never becomes
  a search term: :func:`search_safe` says so, and the backend compares such a value with
  ``where match(...)`` on an escaped regular expression instead.
* ``match()`` and ``regex`` take PCRE. :func:`regex_literal` escapes every character that is
  not an ASCII letter, digit or underscore (a backslash before any such character is a
  literal in PCRE) and writes control characters as ``\x{..}``, so no value can change the
  pattern's meaning or put a raw line break into the search.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "comment",
    "conf_value",
    "quote",
    "regex_literal",
    "search_safe",
    "stanza_name",
]

_ESCAPES: Final = {"\\": "\\\\", '"': '\\"'}
_UNSAFE_IN_TERMS: Final = re.compile(r"[*\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PLAIN: Final = re.compile(r"[A-Za-z0-9_]")


def quote(value: str) -> str:
    r"""Return ``value`` as an SPL quoted string: ``\`` and ``"`` escaped, nothing else.

    Example:
        >>> print(quote('C:\\Program Files\\"x"'))
        "C:\\Program Files\\\"x\""
    """
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def search_safe(value: str) -> bool:
    """Tell whether ``value`` may stand in a search term: no ``*`` and no control character.

    Example:
        >>> search_safe("msiexec.exe"), search_safe("a*b")
        (True, False)
    """
    return _UNSAFE_IN_TERMS.search(value) is None


def _regex_char(char: str) -> str:
    if _PLAIN.fullmatch(char) or (ord(char) > 0x9F and not _CONTROL.fullmatch(char)):
        return char
    if _CONTROL.fullmatch(char):
        return f"\\x{{{ord(char):x}}}"
    return "\\" + char


def regex_literal(value: str) -> str:
    r"""Return a PCRE pattern that matches exactly the text ``value``.

    Example:
        >>> regex_literal("S.R.L. (x)")
        'S\\.R\\.L\\.\\ \\(x\\)'
    """
    return "".join(_regex_char(char) for char in value)


def comment(text: str) -> str:
    """Return an SPL comment (triple backticks) holding ``text`` on one line.

    Backticks and control characters become spaces, so the text can neither end the comment
    nor break the line.
    """
    clean = "".join(" " if char == "`" or _CONTROL.fullmatch(char) else char for char in text)
    return f"```{clean}```"


def stanza_name(name: str) -> str:
    r"""Return ``name`` fit for a ``.conf`` stanza header: no brackets, no line breaks.

    Example:
        >>> stanza_name("a [b]\nc")
        'a (b) c'
    """
    swapped = name.replace("[", "(").replace("]", ")")
    return " ".join("".join(" " if _CONTROL.fullmatch(c) else c for c in swapped).split())


def conf_value(text: str) -> str:
    r"""Return ``text`` as a ``.conf`` value: lines joined by a trailing `` \``, as contentctl does.

    A ``.conf`` value continues onto the next line when its line ends with a backslash. Each
    line break becomes `` \`` and a newline; leading and trailing blanks are dropped, since the
    parser would drop them anyway. A backslash that ends a line of ``text`` would join that line
    with the next key, so it is dropped too (the backend never ends a search line with one), and
    other control characters become spaces.

    Example:
        >>> print(conf_value("a\nb"))
        a \
        b
    """
    lines = text.strip().replace("\r\n", "\n").split("\n")
    cleaned = ["".join(" " if _CONTROL.fullmatch(c) else c for c in line) for line in lines]
    return " \\\n".join(line.rstrip().rstrip("\\").rstrip() for line in cleaned)
