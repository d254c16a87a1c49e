r"""A small, strict recogniser of the KQL hunting-query shapes that rmmdetect imports.

It reads exactly this shape, and refuses anything else with the line and the part::

    let Time_start = now(-5d);
    let Time_end = now();
    <Table>
    | where Timestamp between (Time_start .. Time_end)
    | where <condition>            (one or more; several are and-ed)
    | summarize Name=min(Col), Name=max(Col), Name=make_set(Col), Name=count() by Col, ...

A condition is ``and``, ``or``, ``not(...)`` and parentheses over comparisons of a column (or
``tostring(column)``) with string literals: ``has``, ``contains``, ``startswith``,
``endswith`` (each also ``_cs``), ``=~``, ``==``, ``has_any (...)``, ``in~ (...)`` and
``in (...)``. String literals follow Kusto's rules: ``'...'`` and ``"..."`` with the escapes
``\\ \' \" \n \t \r \uXXXX``, verbatim ``@'...'`` / ``@"..."`` where a doubled quote
stands for one, and ``//`` comments to the end of a line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rmmdetect.model import (
    AggregateFunction,
    Aggregation,
    AllOf,
    AnyOf,
    Condition,
    Match,
    Not,
    Operator,
    Output,
)

__all__ = ["HuntingQuery", "QueryShapeError", "parse_hunting_query"]

SUPPORTED: Final = (
    "supported: where (has, has_any, =~, ==, in~, in, contains, startswith, endswith, their "
    "_cs forms, and/or/not), summarize"
)

_OPERATORS: Final[dict[str, tuple[Operator, bool]]] = {
    "=~": (Operator.EQUALS, False),
    "==": (Operator.EQUALS, True),
    "contains": (Operator.CONTAINS, False),
    "contains_cs": (Operator.CONTAINS, True),
    "startswith": (Operator.STARTSWITH, False),
    "startswith_cs": (Operator.STARTSWITH, True),
    "endswith": (Operator.ENDSWITH, False),
    "endswith_cs": (Operator.ENDSWITH, True),
    "has": (Operator.HAS, False),
    "has_cs": (Operator.HAS, True),
}
"""Kusto's comparison of a column with one string, as a model operator and whether cased."""

_LIST_OPERATORS: Final[dict[str, tuple[Operator, bool]]] = {
    "has_any": (Operator.HAS, False),
    "in~": (Operator.EQUALS, False),
    "in": (Operator.EQUALS, True),
}
"""Kusto's comparison of a column with a list of strings (an any-of)."""

_AGGREGATES: Final[dict[str, AggregateFunction]] = {
    "min": AggregateFunction.MIN,
    "max": AggregateFunction.MAX,
    "make_set": AggregateFunction.VALUES,
    "count": AggregateFunction.COUNT,
}

_ESCAPES: Final = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_TOKEN: Final = re.compile(
    r"(?P<space>[ \t\r\n]+)|(?P<comment>//[^\n]*)"
    r"|(?P<name>!?[A-Za-z_][A-Za-z0-9_]*~?)|(?P<number>[0-9][0-9A-Za-z.]*)"
    r"|(?P<punct>\.\.|==|=~|!=|!~|<=|>=|[()\[\],|;=<>+*/-])"
)


class QueryShapeError(Exception):
    """A part of the query outside the supported shapes, on a 1-based line of the query."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    line: int
    value: str = ""


@dataclass(frozen=True)
class HuntingQuery:
    """A recognised hunting query, in canonical fields.

    Attributes:
        table: The table it reads.
        window: How far back it looks, e.g. ``5d``.
        detection: The and-ed ``where`` conditions.
        aggregation: The ``summarize`` step, if any.
    """

    table: str
    window: str
    detection: Condition
    aggregation: Aggregation | None


def _string(text: str, start: int, line: int) -> tuple[str, int]:
    """Read a Kusto string literal at ``start``; return its value and the end offset."""
    verbatim = text[start] == "@"
    index = start + 1 if verbatim else start
    quote = text[index]
    index += 1
    chars: list[str] = []
    while True:
        if index >= len(text) or text[index] == "\n":
            raise QueryShapeError("a string literal is not closed on its line", line)
        char = text[index]
        if char == quote:
            if verbatim and text[index + 1 : index + 2] == quote:
                chars.append(quote)
                index += 2
                continue
            return "".join(chars), index + 1
        if char == "\\" and not verbatim:
            escape = text[index + 1 : index + 2]
            if escape in _ESCAPES:
                chars.append(_ESCAPES[escape])
                index += 2
                continue
            digits = text[index + 2 : index + 6]
            if escape == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                chars.append(chr(int(digits, 16)))
                index += 6
                continue
            raise QueryShapeError(f"'\\{escape}' is not a Kusto string escape", line)
        chars.append(char)
        index += 1


def tokenize(text: str) -> list[_Token]:
    """Split a query into tokens, dropping blanks and ``//`` comments."""
    tokens: list[_Token] = []
    index, line = 0, 1
    while index < len(text):
        char = text[index]
        if char in "'\"" or (char == "@" and text[index + 1 : index + 2] in ("'", '"')):
            value, end = _string(text, index, line)
            tokens.append(_Token("string", text[index:end], line, value))
            index = end
            continue
        found = _TOKEN.match(text, index)
        if found is None:
            raise QueryShapeError(f"'{char}' is not part of a supported query", line)
        kind = found.lastgroup or ""
        if kind not in ("space", "comment"):
            tokens.append(_Token(kind, found.group(), line))
        line += found.group().count("\n")
        index = found.end()
    tokens.append(_Token("end", "end of query", line))
    return tokens


class _Parser:
    def __init__(
        self,
        text: str,
        columns: Mapping[str, Mapping[str, str]],
        problems: Mapping[tuple[str, str], str],
    ) -> None:
        self.problems = problems
        self.tokens = tokenize(text)
        self.position = 0
        self.all_columns = columns
        self.table = ""

    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.token
        self.position += 1
        return token

    def expect(self, *texts: str, what: str | None = None) -> _Token:
        token = self.token
        if token.text not in texts:
            wanted = what or " or ".join(f"'{text}'" for text in texts)
            raise QueryShapeError(f"expected {wanted}, found '{token.text}'", token.line)
        return self.advance()

    def expect_sequence(self, words: str, what: str) -> None:
        for word in words.split():
            self.expect(word, what=what)

    def window(self) -> str:
        start = "the window 'let Time_start = now(-<timespan>);'"
        self.expect_sequence("let Time_start = now ( -", start)
        span = self.advance()
        if span.kind != "number" or not re.fullmatch(r"[1-9][0-9]*[mhd]", span.text):
            raise QueryShapeError(
                f"'{span.text}' is not a supported timespan; supported: a whole number of "
                "minutes (m), hours (h) or days (d), e.g. 5d",
                span.line,
            )
        self.expect_sequence(") ;", start)
        self.expect_sequence("let Time_end = now ( ) ;", "'let Time_end = now();'")
        return span.text

    def table_name(self) -> str:
        token = self.advance()
        if token.text not in self.all_columns:
            raise QueryShapeError(
                f"table '{token.text}' is not supported; supported: " + ", ".join(self.all_columns),
                token.line,
            )
        self.table = token.text
        return token.text

    def time_filter(self) -> None:
        what = "'| where Timestamp between (Time_start .. Time_end)' right after the table"
        self.expect_sequence("| where Timestamp between ( Time_start .. Time_end )", what)

    def column(self) -> tuple[str, _Token]:
        token = self.advance()
        name = token.text
        if name == "tostring":
            self.expect("(")
            token = self.advance()
            name = token.text
            self.expect(")")
        if token.kind != "name":
            raise QueryShapeError(f"expected a column, found '{token.text}'", token.line)
        columns = self.all_columns[self.table]
        if name not in columns:
            why = self.problems.get((self.table, name)) or (
                f"{self.table} has no such column, or it has no canonical field; "
                f"readable columns: {', '.join(columns)}"
            )
            raise QueryShapeError(f"column '{name}' cannot be imported: {why}", token.line)
        return columns[name], token

    def literal(self) -> str:
        token = self.advance()
        if token.kind != "string":
            raise QueryShapeError(f"expected a string literal, found '{token.text}'", token.line)
        return token.value

    def comparison(self) -> Condition:
        field, _ = self.column()
        operator = self.advance()
        if operator.text in _OPERATORS:
            op, cased = _OPERATORS[operator.text]
            return Match(field=field, op=op, values=(self.literal(),), cased=cased)
        if operator.text in _LIST_OPERATORS:
            op, cased = _LIST_OPERATORS[operator.text]
            self.expect("(")
            values = [self.literal()]
            while self.token.text == ",":
                self.advance()
                values.append(self.literal())
            self.expect(")")
            return Match(field=field, op=op, values=tuple(values), cased=cased)
        raise QueryShapeError(
            f"operator '{operator.text}' is not supported; {SUPPORTED}", operator.line
        )

    def unary(self) -> Condition:
        if self.token.text == "not":
            self.advance()
            self.expect("(")
            inner = self.expression()
            self.expect(")")
            return Not(not_=inner)
        if self.token.text == "(":
            self.advance()
            inner = self.expression()
            self.expect(")")
            return inner
        return self.comparison()

    def conjunction(self) -> Condition:
        children = [self.unary()]
        while self.token.text == "and":
            self.advance()
            children.append(self.unary())
        return children[0] if len(children) == 1 else AllOf(all=tuple(children))

    def expression(self) -> Condition:
        children = [self.conjunction()]
        while self.token.text == "or":
            self.advance()
            children.append(self.conjunction())
        return children[0] if len(children) == 1 else _any_of(children)

    def summarize(self) -> Aggregation:
        outputs = [self.output()]
        while self.token.text == ",":
            self.advance()
            outputs.append(self.output())
        self.expect("by")
        by = [self.column()[0]]
        while self.token.text == ",":
            self.advance()
            by.append(self.column()[0])
        return Aggregation(by=tuple(by), outputs=tuple(outputs))

    def output(self) -> Output:
        name = self.advance()
        if name.kind != "name":
            raise QueryShapeError(f"expected an output column name, found '{name.text}'", name.line)
        self.expect("=")
        function = self.advance()
        if function.text not in _AGGREGATES:
            raise QueryShapeError(
                f"aggregation '{function.text}' is not supported; supported: "
                + ", ".join(f"{f}()" for f in _AGGREGATES),
                function.line,
            )
        self.expect("(")
        field = None if function.text == "count" else self.column()[0]
        self.expect(")")
        return Output(name=name.text, function=_AGGREGATES[function.text], field=field)

    def query(self) -> HuntingQuery:
        window = self.window()
        table = self.table_name()
        self.time_filter()
        wheres: list[Condition] = []
        aggregation = None
        while self.token.text == "|" and aggregation is None:
            self.advance()
            step = self.advance()
            if step.text == "where":
                wheres.append(self.expression())
            elif step.text == "summarize" and wheres:
                aggregation = self.summarize()
            else:
                raise QueryShapeError(
                    f"'| {step.text}' is not a supported query step here; {SUPPORTED}",
                    step.line,
                )
        if self.token.kind != "end":
            raise QueryShapeError(
                f"'{self.token.text}' is not supported here; the query must end after its "
                f"where and summarize steps; {SUPPORTED}",
                self.token.line,
            )
        if not wheres:
            raise QueryShapeError(
                "the query has no '| where' condition after the window", self.token.line
            )
        detection = wheres[0] if len(wheres) == 1 else AllOf(all=tuple(wheres))
        return HuntingQuery(table, window, detection, aggregation)


def _any_of(children: list[Condition]) -> Condition:
    """Read ``X op 'a' or X op 'b'`` as one any-of match, as the KQL backend writes it."""
    first = children[0]
    if isinstance(first, Match) and all(
        isinstance(child, Match)
        and (child.field, child.op, child.cased)
        == (
            first.field,
            first.op,
            first.cased,
        )
        for child in children
    ):
        values = tuple(
            value for child in children if isinstance(child, Match) for value in child.values
        )
        return first.model_copy(update={"values": values})
    return AnyOf(any=tuple(children))


def parse_hunting_query(
    text: str,
    columns: Mapping[str, Mapping[str, str]],
    problems: Mapping[tuple[str, str], str] | None = None,
) -> HuntingQuery:
    """Recognise a hunting query of the supported shape.

    Args:
        text: The KQL text.
        columns: Each supported table's columns and the canonical field of each.
        problems: Why a known column cannot be read, by (table, column), for the message.

    Returns:
        The query's table, window, detection and aggregation.

    Raises:
        QueryShapeError: A part is outside the supported shape; it names the part and its line.
    """
    return _Parser(text, columns, problems or {}).query()
