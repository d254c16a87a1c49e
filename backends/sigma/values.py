r"""Sigma string values and regular expressions that read back as exactly the value given.

In a Sigma string ``*`` and ``?`` are wildcards and ``\`` escapes them (Sigma specification,
"Escaping"). A backslash followed by any other character is a plain backslash, so SigmaHQ writes
``'\msiexec.exe'`` unescaped; only a backslash that precedes a wildcard or another backslash
needs escaping. :func:`sigma_string` escapes exactly those, so every value keeps its meaning.

A regular expression (the ``re`` modifier) is taken verbatim. :func:`term_regex` builds one
that implements the model's ``has`` (see :func:`rmmdetect.evaluator.term_match`) from constructs
every Sigma backend's engine shares (PCRE, RE2, Java, Python): no lookaround, which SigmaHQ's
validators reject, and ``(?i)`` for case-insensitive matching.
"""

from __future__ import annotations

import re
from typing import Final

from rmmdetect.model import Operator

__all__ = ["name_regex", "sigma_string", "term_regex"]

_WILDCARDS: Final = "*?"
_ESCAPE: Final = "\\"
_REGEX_SPECIAL: Final = frozenset("\\.^$|?*+()[]{}")
_WORD: Final = "A-Za-z0-9"


def sigma_string(value: str) -> str:
    r"""Return the Sigma notation of a plain string: its wildcards escaped, nothing else.

    Example:
        >>> sigma_string("\\msiexec.exe")
        '\\msiexec.exe'
        >>> sigma_string("a*b\\*")
        'a\\*b\\\\\\*'
    """
    out: list[str] = []
    for index, char in enumerate(value):
        following = value[index + 1 : index + 2]
        if char in _WILDCARDS or (char == _ESCAPE and following in (*_WILDCARDS, _ESCAPE)):
            out.append(_ESCAPE)
        out.append(char)
    return "".join(out)


def _regex_literal(value: str) -> str:
    return "".join(_ESCAPE + char if char in _REGEX_SPECIAL else char for char in value)


def term_regex(needle: str, cased: bool) -> str:
    r"""Return a regular expression that finds ``needle`` as whole terms, as ``has`` does.

    A term may neither start right after nor end right before an ASCII letter or digit, unless
    the needle itself starts or ends with a character that is not one. The boundary is matched
    as a character or the end of the text rather than a lookaround, which is equivalent for a
    search and portable.

    Example:
        >>> term_regex("S.R.L", cased=False)
        '(?i)(?:^|[^A-Za-z0-9])S\\.R\\.L(?:[^A-Za-z0-9]|$)'
    """
    before = f"(?:^|[^{_WORD}])" if re.match(f"[{_WORD}]", needle) else ""
    after = f"(?:[^{_WORD}]|$)" if re.search(f"[{_WORD}]$", needle) else ""
    return ("" if cased else "(?i)") + before + _regex_literal(needle) + after


_NAME_START: Final = r"(?:^|\\)"
"""Where the last element of a Windows path starts: after its last backslash, or at its start."""
_NAME_CHAR: Final = r"[^\\]"

_NAME_PATTERNS: Final[dict[Operator, tuple[str, str]]] = {
    Operator.EQUALS: ("", ""),
    Operator.STARTSWITH: ("", f"{_NAME_CHAR}*"),
    Operator.ENDSWITH: (f"{_NAME_CHAR}*", ""),
    Operator.CONTAINS: (f"{_NAME_CHAR}*", f"{_NAME_CHAR}*"),
}
"""Each operator on a path's last element: what may come before and after the value in it."""


def name_regex(op: Operator, value: str, cased: bool) -> str:
    r"""Return a regular expression that applies ``op`` to the last element of a path.

    The value must hold no backslash (a name never does). For ``has``, a term's boundary is a
    character of the name that is no ASCII letter or digit, or either end of the name.

    Example:
        >>> print(name_regex(Operator.CONTAINS, "tools", cased=False))
        (?i)(?:^|\\)[^\\]*tools[^\\]*$
        >>> print(name_regex(Operator.HAS, "tools", cased=True))
        (?:^|\\)(?:[^\\]*[^A-Za-z0-9\\])?tools(?:[^A-Za-z0-9\\][^\\]*)?$
    """
    if op is Operator.HAS:
        word = f"[^{_WORD}\\\\]"
        before = f"(?:{_NAME_CHAR}*{word})?" if re.match(f"[{_WORD}]", value) else f"{_NAME_CHAR}*"
        after = f"(?:{word}{_NAME_CHAR}*)?" if re.search(f"[{_WORD}]$", value) else f"{_NAME_CHAR}*"
    else:
        before, after = _NAME_PATTERNS[op]
    body = _NAME_START + before + _regex_literal(value) + after + "$"
    return body if cased else "(?i)" + body
