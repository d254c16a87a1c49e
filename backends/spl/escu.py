"""The security_content (ESCU) detection file of a rule and its ``_filter`` macro.

The detection has the keys contentctl validates: name, id, version, date, author, status,
type, description, data_source, search, how_to_implement, known_false_positives, references and
tags (analytic_story, asset_type, mitre_attack_id, product, security_domain). Its search reads
the ``sysmon`` macro, as every security_content Sysmon detection does (each site defines the
macro with its index), and ends in the macro ``<snake_name>_filter``.

The site's exclusions live in that macro, where security_content keeps each site's tuning. The
format carries it as a second YAML document in security_content's ``macros/*.yml`` shape
(name, definition, description), which contentctl turns into the ``macros.conf`` stanza
``[<snake_name>_filter]``. Without exclusions its definition is ``search *``, as contentctl
generates it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from rmmdetect_backends.spl.savedsearch import ANALYTIC_STORY

from rmmdetect.errors import RmmdetectError
from rmmdetect.model import Status
from rmmdetect.yamltext import dump_yaml_all

if TYPE_CHECKING:
    from rmmdetect_backends.spl.backend import SplSearch

__all__ = ["MAX_NAME_LENGTH", "detection_yaml", "escu_name", "snake_name"]

MAX_NAME_LENGTH: Final = 67
"""The longest detection name contentctl accepts (its CONTENTCTL_MAX_SEARCH_NAME_LENGTH)."""

_STATUSES: Final = {
    Status.STABLE: "production",
    Status.TEST: "experimental",
    Status.EXPERIMENTAL: "experimental",
    Status.DEPRECATED: "deprecated",
}
_PRODUCTS: Final = ["Splunk Enterprise", "Splunk Enterprise Security", "Splunk Cloud"]


def escu_name(name: str) -> str:
    """Return a rule's name as an ESCU detection name: only letters, digits, blanks, ``_-./``.

    contentctl derives the file and macro names from the detection name by replacing blanks,
    ``-``, ``.`` and ``/`` with ``_``; any other character would end up in a macro name, so it
    becomes a blank here.

    Example:
        >>> escu_name("SupRemo (signer), v2")
        'SupRemo signer v2'
    """
    return " ".join(re.sub(r"[^A-Za-z0-9 _./-]", " ", name).split())


def snake_name(name: str) -> str:
    """Return contentctl's file and macro stem of an ESCU detection name.

    Example:
        >>> snake_name("RMM tool - SupRemo - File Signature")
        'rmm_tool___supremo___file_signature'
    """
    return re.sub(r"[ ./-]", "_", name).lower()


def _how_to_implement(search: SplSearch, filter_macro: str) -> str:
    return (
        f"Ingest {search.data_source} events with the Splunk Add-on for Sysmon (source "
        "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational, rendered as XML) and define the "
        "`sysmon` macro with the index that holds them. Hash fields need Sysmon to log that "
        f"algorithm. Site exclusions belong in the `{filter_macro}` macro."
    )


def _known_false_positives(search: SplSearch) -> str:
    rule = search.rule
    lines = [f"Legitimate use of {rule.tool.name} by IT staff."]
    lines += [f"{x.name}: {x.description}" for x in rule.exclusions]
    return " ".join(lines)


def _search(search: SplSearch, filter_macro: str) -> str:
    lines = [f"{search.index}`sysmon` {search.filters}", *search.pipes, *search.stats]
    lines += [f"| `security_content_ctime({name})`" for name in search.times]
    lines.append(f"| `{filter_macro}`")
    return "\n".join(lines)


def _definition(search: SplSearch) -> str:
    """Join the exclusions' commands, consecutive ``search NOT`` terms into one search."""
    commands: list[str] = []
    for exclusion in search.exclusions:
        if (
            commands
            and commands[-1].startswith("search ")
            and exclusion.command.startswith("search ")
        ):
            commands[-1] += exclusion.command.removeprefix("search")
        else:
            commands.append(exclusion.command)
    return " | ".join(commands) if commands else "search *"


def _macro(search: SplSearch, filter_macro: str) -> dict[str, Any]:
    names = "; ".join(exclusion.name for exclusion in search.exclusions)
    description = (
        f"Site exclusions of {search.rule.name}: {names}."
        if names
        else "Update this macro to limit the output results to filter out false positives."
    )
    return {
        "name": filter_macro,
        "definition": _definition(search),
        "description": description,
    }


def detection_yaml(search: SplSearch) -> str:
    """Return the ESCU detection YAML and its filter macro as two YAML documents.

    Raises:
        RmmdetectError: The rule's name, as an ESCU name, is empty or longer than contentctl
            accepts.
    """
    rule = search.rule
    name = escu_name(rule.name)
    if not name or len(name) > MAX_NAME_LENGTH:
        raise RmmdetectError(
            f"rule '{rule.name}': an ESCU detection name has 1 to {MAX_NAME_LENGTH} letters, "
            f"digits, blanks or _-./ (contentctl), this one has {len(name)}"
        )
    filter_macro = f"{snake_name(name)}_filter"
    detection: dict[str, Any] = {
        "name": name,
        "id": str(rule.id),
        "version": 1,
        "date": (rule.modified or rule.date).isoformat(),
        "author": rule.author,
        "status": _STATUSES[rule.status],
        # Hunting, not TTP: a TTP needs a risk-based-alerting object the model has no data for.
        "type": "Hunting",
        "description": rule.description.strip(),
        "data_source": [search.data_source],
        "search": _search(search, filter_macro),
        "how_to_implement": _how_to_implement(search, filter_macro),
        "known_false_positives": _known_false_positives(search),
        "references": list(rule.references),
        "tags": {
            "analytic_story": [ANALYTIC_STORY],
            "asset_type": "Endpoint",
            "mitre_attack_id": list(rule.attack.techniques),
            "product": _PRODUCTS,
            "security_domain": "endpoint",
        },
    }
    documents = [detection, _macro(search, filter_macro)]
    return dump_yaml_all(documents)
