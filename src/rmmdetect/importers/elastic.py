r"""Import an Elastic EQL query through the ``eql`` package's parser (Elasticsearch syntax).

The query is checked with :func:`eql.parse_query`, then read from the same parser's syntax tree,
which, unlike eql's AST, keeps what the case of a match depends on (``:`` and ``like~`` ignore
case, ``like`` and ``==`` do not). It reads the EQL that rmmdetect's EQL backend writes and
Elastic-style queries of the same shapes::

    process where host.os.type == "windows" and event.type == "start" and
      process.code_signature.subject_name : ("Vendor A", "Vendor B*") and
      not (process.name : "msiexec.exe")

Event kinds: ``process`` (a signer query when it names ``process.code_signature.subject_name``,
else a process query) and ``network`` (DNS lookups when it says ``network.protocol == "dns"``).
Comparisons: ``:``, ``like``, ``like~`` with a leading and/or trailing ``*`` (contains,
startswith, endswith) or none (equals); ``==``, ``!=``, ``in``, ``in~``; ``regex`` and
``regex~`` in the anchored forms the backend writes. Each top-level ``and not (...)`` is an
exclusion, named by the ``/* Exclusion: ... */`` comment before it if there is one.
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from lark import Token, Tree

import eql
from rmmdetect.errors import UnsupportedQueryError
from rmmdetect.importers.base import WILDCARD_OPERATORS, ImportOptions, build_rule, dropped
from rmmdetect.model import AllOf, AnyOf, Condition, DataCategory, Match, Not, Operator, Rule

__all__ = ["CARRIES", "DROPS", "read_eql"]

CARRIES: Final = ("id", "name", "data", "detection", "exclusions")
"""The rule fields an EQL query carries: the detection, the category (by its event kind) and
the exclusions; the id and name where the query has rmmdetect's header comments, else the id is
derived from the query's text and the name from the file's. An exclusion's description reads as
its name."""

DROPS: Final = dropped(CARRIES)
"""The rule fields a bare EQL query cannot carry."""

_IMPORT_NAMESPACE: Final = uuid.UUID("b1c4d5f0-7a9e-4e62-9d3c-5f0b2a9c8e71")
"""The namespace of the uuid5 id given to a query without rmmdetect's header comment."""

_PROCESS: Final = {
    "@timestamp": "@timestamp",
    "event.id": "event.id",
    "host.id": "host.id",
    "host.name": "host.name",
    "user.name": "user.name",
    **{
        f"process.{name}": f"process.{name}"
        for name in (
            "name",
            "executable",
            "command_line",
            "parent.name",
            "hash.md5",
            "hash.sha1",
            "hash.sha256",
            "pe.company",
            "pe.product",
            "pe.original_file_name",
        )
    },
}
_NETWORK: Final = {key: _PROCESS[key] for key in (*list(_PROCESS)[:5], "process.name")} | {
    "process.executable": "process.executable"
}
_SIGNER: Final = "process.code_signature.subject_name"

FIELDS: Final[dict[str, dict[str, str]]] = {
    "process": {**_PROCESS, _SIGNER: "process.code_signature.subject_name"},
    "signer": {**_PROCESS, _SIGNER: "file.code_signature.subject_name"},
    "dns": {**_NETWORK, "dns.question.name": "destination.domain"},
    "connection": {
        **_NETWORK,
        "destination.domain": "destination.domain",
        "destination.ip": "destination.ip",
    },
}
"""Each event kind's ECS fields and the canonical field each reads as. In a process start the
signed file is the process's image, so ``file.*`` fields read as their ``process.*`` twins."""

_CATEGORIES: Final = {
    "process": DataCategory.PROCESS,
    "signer": DataCategory.FILE_SIGNATURE,
    "dns": DataCategory.NETWORK,
    "connection": DataCategory.NETWORK,
}

_SELECTIONS: Final = {
    'host.os.type == "windows"',
    'event.type == "start"',
    'event.type in "start" "process_started"',
    'network.protocol == "dns"',
}
"""Terms that select the event kind rather than detect anything."""

_WORD: Final = "A-Za-z0-9"
_BEFORE: Final = f"(.*[^{_WORD}])?"
_AFTER: Final = f"([^{_WORD}].*)?"
_PUNCTUATION: Final = frozenset(string.punctuation)
_EXCLUSION_COMMENT: Final = re.compile(r"/\*\s*Exclusion:\s*(.*?)\s*\*/")
_HEADER: Final = re.compile(r"\A/\*\s*(.*?)\s*\*/\s*/\*\s*rmmdetect rule ([0-9a-f-]{36})\s*\*/")


class _RefusalError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _text(node: Tree[Token] | Token) -> str:
    if isinstance(node, Token):
        return str(node)
    return " ".join(_text(child) for child in node.children)


def _line(node: Tree[Token] | Token) -> int | None:
    if isinstance(node, Token):
        return node.line
    for child in node.children:
        line = _line(child)
        if line is not None:
            return line
    return None


def _subtree(node: Tree[Token] | Token) -> Tree[Token]:
    if not isinstance(node, Tree):
        raise _RefusalError(f"'{node}' is not a supported expression", _line(node))
    return node


def _literal(node: Tree[Token] | Token) -> str:
    text = _text(node)
    if text.startswith('"""') and text.endswith('"""') and len(text) >= 6:
        return text[3:-3]  # A raw string: no escapes.
    with eql.parser.elasticsearch_syntax:
        value = eql.parser.parse_literal(text).value
    if not isinstance(value, str):
        raise _RefusalError(f"{text} is not a string; only strings can be compared", _line(node))
    return value


def _unescape(body: str) -> str | None:
    """Return the literal a Lucene-escaped regex stands for, or None if it has an operator."""
    chars: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _PUNCTUATION:
            return None
        else:
            chars.append(char)
    return None if escaped or not chars else "".join(chars)


def _regex(pattern: str) -> tuple[Operator, str] | None:
    """Read one of the anchored regular expressions the EQL backend writes."""
    word = re.compile(f"[{_WORD}]")
    for before, after, op in (
        (_BEFORE, _AFTER, Operator.HAS),
        (_BEFORE, ".*", Operator.HAS),
        (".*", _AFTER, Operator.HAS),
        (".*", ".*", Operator.CONTAINS),
        ("", ".*", Operator.STARTSWITH),
        (".*", "", Operator.ENDSWITH),
        ("", "", Operator.EQUALS),
    ):
        if pattern.startswith(before) and pattern.endswith(after):
            needle = _unescape(pattern[len(before) : len(pattern) - len(after)])
            if needle is None:
                continue
            if op is Operator.HAS and (
                (before == _BEFORE) != bool(word.match(needle[0]))
                or (after == _AFTER) != bool(word.match(needle[-1]))
            ):
                continue
            return op, needle
    return None


def _wildcard(pattern: str) -> tuple[Operator, str] | None:
    lead, trail = pattern.startswith("*"), len(pattern) > 1 and pattern.endswith("*")
    inner = pattern[int(lead) : len(pattern) - int(trail)]
    if not inner or "*" in inner or "?" in inner:
        return None
    return WILDCARD_OPERATORS[(lead, trail)], inner


_PATTERNS: Final[dict[str, tuple[Callable[[str], tuple[Operator, str] | None], bool]]] = {
    ":": (_wildcard, False),
    "like~": (_wildcard, False),
    "like": (_wildcard, True),
    "regex~": (_regex, False),
    "regex": (_regex, True),
}
"""Each string predicate: how its patterns read, and whether it is case-sensitive."""


class _Reader:
    def __init__(self, kind: str) -> None:
        self.fields = FIELDS[kind]

    def field(self, node: Tree[Token] | Token) -> str:
        if not isinstance(node, Tree) or str(node.data) != "field":
            raise _RefusalError(
                f"'{_text(node)}' is not supported; only a field can be compared", _line(node)
            )
        name = _text(node)
        if name not in self.fields:
            raise _RefusalError(
                f"field '{name}' cannot be imported here; readable: {', '.join(self.fields)}",
                _line(node),
            )
        return self.fields[name]

    def matches(self, field: str, found: list[tuple[Operator, str]], cased: bool) -> Condition:
        groups: dict[Operator, list[str]] = {}
        for op, value in found:
            groups.setdefault(op, []).append(value)
        matches = [
            Match(field=field, op=op, values=tuple(values), cased=cased)
            for op, values in groups.items()
        ]
        return matches[0] if len(matches) == 1 else AnyOf(any=tuple(matches))

    def string_predicate(self, node: Tree[Token]) -> Condition:
        field_node, predicate, *literals = node.children
        read, cased = _PATTERNS[str(predicate)]
        found = []
        for literal in literals:
            pattern = _literal(literal)
            parsed = read(pattern)
            if parsed is None:
                raise _RefusalError(
                    f"pattern '{pattern}' of '{predicate}' is not supported; supported: a "
                    "value with a leading and/or trailing '*' (no '?'), or the anchored "
                    "regular expressions rmmdetect writes",
                    _line(literal),
                )
            found.append(parsed)
        return self.matches(self.field(field_node), found, cased)

    def comparison(self, node: Tree[Token]) -> Condition:
        field_node, operator, literal = node.children
        if str(operator) not in ("==", "!="):
            raise _RefusalError(f"comparison '{operator}' is not supported", _line(operator))
        match = Match(
            field=self.field(field_node),
            op=Operator.EQUALS,
            values=(_literal(literal),),
            cased=True,
        )
        return match if str(operator) == "==" else Not(not_=match)

    def in_set(self, node: Tree[Token]) -> Condition:
        field_node, operator, expressions = node.children
        values = tuple(_literal(child) for child in _subtree(expressions).children)
        field = self.field(field_node)
        return Match(field=field, op=Operator.EQUALS, values=values, cased=str(operator) == "in")

    def expression(self, node: Tree[Token] | Token) -> Condition:
        if isinstance(node, Tree):
            rule = str(node.data)
            if rule == "and_expr":
                return AllOf(all=tuple(self.expression(c) for c in node.children))
            if rule == "or_expr":
                return AnyOf(any=tuple(self.expression(c) for c in node.children))
            if rule == "not_expr":
                return Not(not_=self.expression(node.children[-1]))
            if rule in ("string_predicate", "comparison", "in_set"):
                return getattr(self, rule)(node)  # type: ignore[no-any-return]
        raise _RefusalError(
            f"'{_text(node)}' is not supported; supported: and, or, not, ':', like, like~, "
            "regex, regex~, ==, !=, in, in~ on the event's fields",
            _line(node),
        )


def _terms(node: Tree[Token] | Token) -> list[Tree[Token] | Token]:
    if isinstance(node, Tree) and str(node.data) == "and_expr":
        return list(node.children)
    return [node]


def _kind(event: str, terms: list[Tree[Token] | Token], text: str) -> str:
    if event == "process":
        return "signer" if _SIGNER in text else "process"
    if event == "network":
        return (
            "dns" if any(_text(t) == 'network.protocol == "dns"' for t in terms) else "connection"
        )
    raise _RefusalError(
        f"event category '{event}' is not supported; supported: process, network", 1
    )


def _query(text: str) -> tuple[str, Condition, list[tuple[str, Condition]]]:
    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            eql.parse_query(text)
        tree = eql.parser.lark_parser.parse(text + "\n", start="piped_query")
    except eql.EqlError as error:
        raise _RefusalError(f"eql cannot parse the query: {error}", None) from None
    base, pipes = tree.children[0], tree.children[1:]
    if any(pipe is not None for pipe in pipes):
        raise _RefusalError("pipes are not supported", None)
    event_query = base.children[0] if isinstance(base, Tree) else base
    if not isinstance(event_query, Tree) or str(event_query.data) != "event_query":
        raise _RefusalError("only a single event query is supported (no sequence or sample)", None)
    name, expression = event_query.children
    terms = [t for t in _terms(expression) if _text(t) not in _SELECTIONS]
    kind = _kind(_text(name), _terms(expression), text)
    if not terms:
        raise _RefusalError("the query selects events but detects nothing", _line(expression))
    named = _EXCLUSION_COMMENT.findall(text)
    reader = _Reader(kind)
    split = len(terms) - len(named) if named else _first_exclusion(terms)
    if named and (split < 1 or not all(_is_not(t) for t in terms[split:])):
        raise _RefusalError("each '/* Exclusion: */' comment must stand before a 'not (...)'", None)
    detection = [reader.expression(t) for t in terms[:split]]
    exclusions = [
        (named[i] if named else f"Exclusion {i + 1}", reader.expression(_subtree(t).children[-1]))
        for i, t in enumerate(terms[split:])
    ]
    return kind, detection[0] if len(detection) == 1 else AllOf(all=tuple(detection)), exclusions


def _is_not(node: Tree[Token] | Token) -> bool:
    return isinstance(node, Tree) and str(node.data) == "not_expr"


def _first_exclusion(terms: Sequence[Tree[Token] | Token]) -> int:
    """Where the trailing ``not (...)`` terms start, keeping at least one detection term."""
    split = len(terms)
    while split > 1 and _is_not(terms[split - 1]):
        split -= 1
    return split


def read_eql(text: str, path: Path, options: ImportOptions) -> Rule:
    """Read an EQL query into a rule.

    Args:
        text: The query, with rmmdetect's comments or without.
        path: The file, named in errors; its name is the rule's when the query has no header.
        options: Values for the fields listed in :data:`DROPS`.

    Returns:
        The rule.

    Raises:
        UnsupportedQueryError: eql cannot parse the query, or a part is outside the supported
            shapes; the message names the line and the part.
    """
    try:
        kind, detection, exclusions = _query(text)
    except _RefusalError as refusal:
        raise UnsupportedQueryError(refusal.message, path=path, line=refusal.line) from None
    header = _HEADER.match(text.lstrip())
    carried: dict[str, Any] = {
        "id": header.group(2) if header else uuid.uuid5(_IMPORT_NAMESPACE, text),
        "name": header.group(1) if header else path.stem,
        "data": {"category": _CATEGORIES[kind]},
        "detection": detection,
        "exclusions": [{"name": n, "description": n, "condition": c} for n, c in exclusions],
    }
    return build_rule(carried, options, path)
