"""Importers: rules read back from other formats into the rule model.

Each format has one module and one entry in :data:`IMPORTERS`, which says which rule fields the
format carries and which it drops (those come from :class:`ImportOptions`). An importer reads
exactly the shapes it documents and refuses anything else with an
:class:`~rmmdetect.errors.UnsupportedQueryError` naming the file, line and part: it never
guesses a query's meaning.

Example:
    >>> sorted(IMPORTERS)
    ['eql', 'sentinel', 'sigma']
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from rmmdetect.dumper import dump_rule
from rmmdetect.errors import RuleFileError, UnknownTargetError
from rmmdetect.importers import elastic, sentinel, sigma
from rmmdetect.importers.base import RULE_FIELDS, Importer, ImportOptions
from rmmdetect.model import Rule

__all__ = [
    "IMPORTERS",
    "RULE_FIELDS",
    "ImportOptions",
    "Importer",
    "get_importer",
    "import_file",
    "import_text",
    "import_yaml",
]

IMPORTERS: Final[dict[str, Importer]] = {
    "sentinel": Importer(
        "sentinel",
        "a Microsoft Sentinel hunting query or analytic rule (YAML) with Defender KQL",
        sentinel.read_sentinel,
        sentinel.CARRIES,
        sentinel.DROPS,
    ),
    "eql": Importer(
        "eql",
        "an Elastic EQL query over Elastic Defend process or network events",
        elastic.read_eql,
        elastic.CARRIES,
        elastic.DROPS,
    ),
    "sigma": Importer(
        "sigma",
        "a Sigma rule for a Windows Sysmon log source (image_load, process_creation, "
        "network_connection)",
        sigma.read_sigma,
        sigma.CARRIES,
        sigma.DROPS,
    ),
}
"""The importers, by format name."""


def get_importer(format: str) -> Importer:
    """Return the importer of a format.

    Raises:
        UnknownTargetError: No importer has that name; the message lists them.
    """
    if format not in IMPORTERS:
        raise UnknownTargetError("import format", format, IMPORTERS)
    return IMPORTERS[format]


def import_text(
    format: str, text: str, path: str | Path = "<input>", options: ImportOptions | None = None
) -> Rule:
    """Import a rule from text in another format.

    Args:
        format: The format's name, a key of :data:`IMPORTERS`.
        text: The text.
        path: The file it came from, named in errors.
        options: Values for the fields the format cannot carry.

    Returns:
        The validated rule.

    Raises:
        UnknownTargetError: The format is unknown.
        RuleFileError: The text cannot be imported; the message says where and why.
    """
    return get_importer(format).read(text, Path(path), options or ImportOptions())


def import_file(format: str, path: str | Path, options: ImportOptions | None = None) -> Rule:
    """Import a rule from a file in another format (see :func:`import_text`)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleFileError(f"cannot read the file: {error}", path=source) from None
    return import_text(format, text, source, options)


def import_yaml(format: str, path: str | Path, options: ImportOptions | None = None) -> str:
    """Import a rule from a file in another format and return it as rule-file YAML."""
    return dump_rule(import_file(format, path, options))
