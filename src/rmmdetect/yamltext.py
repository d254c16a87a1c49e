r"""Writing YAML that reads back as exactly the data given, for every YAML the project emits.

PyYAML's emitter writes NEL and the Unicode line and paragraph separators raw inside plain,
single-quoted and block scalars, where a reader folds them into line breaks or spaces; control
characters need escapes too. A string holding any of them is written double-quoted, which
escapes it. Other multi-line strings are literal blocks, so queries read as they run.

Example:
    >>> print(dump_yaml({"query": "a\nb", "name": "x\u2028y"}), end="")
    query: |-
      a
      b
    name: "x\Ly"
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml

__all__ = ["dump_yaml", "dump_yaml_all"]

_ESCAPED: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
"""Characters YAML folds or forbids unescaped: a string holding one is written double-quoted."""


class _Dumper(yaml.SafeDumper):
    """The safe dumper with the string styles above."""


class _IndentedDumper(_Dumper):
    """Indents sequences under their key, as SigmaHQ's style does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _ESCAPED.search(value) else "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def dump_yaml_all(
    documents: Sequence[Mapping[str, Any]],
    *,
    indent: int = 2,
    indent_sequences: bool = False,
    explicit_start: bool = False,
) -> str:
    """Return a YAML stream of the documents, keys in the order given.

    Args:
        documents: The documents.
        indent: Spaces per level.
        indent_sequences: Indent a list under its key rather than level with it.
        explicit_start: Begin the first document with ``---`` too.
    """
    text: str = yaml.dump_all(
        documents,
        Dumper=_IndentedDumper if indent_sequences else _Dumper,
        sort_keys=False,
        allow_unicode=True,
        indent=indent,
        width=100,
        explicit_start=explicit_start,
    )
    return text


def dump_yaml(document: Mapping[str, Any], **options: Any) -> str:
    """Return one YAML document; takes the options of :func:`dump_yaml_all`."""
    return dump_yaml_all([document], **options)
