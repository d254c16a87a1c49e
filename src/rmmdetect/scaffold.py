"""Writing rule documents as readable YAML, and scaffolding the rule file of a new tool.

The catalog generator (``tools/generate_catalog.py``) and ``rmmdetect new`` write rules through
the same functions, so a hand-started file looks like a generated one: one document per rule
kind (signer, process, network), every value quoted, the exclusions a site fills in named
after the tool.

Example:
    >>> text = new_rule_file("Foo Remote", "Foo Ltd", processes=["foo.exe"])
    >>> "{{foo_remote_approved_admin_hosts}}" in text
    True
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import textwrap
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rmmdetect.errors import RmmdetectError
from rmmdetect.lint import tool_slug

__all__ = [
    "KINDS",
    "Kind",
    "RuleSpec",
    "domain_matches",
    "exclusions_for",
    "is_host_pattern",
    "new_rule_file",
    "quote",
    "rule_lines",
    "rule_name",
    "write_new",
]

logger = logging.getLogger("rmmdetect")

WRAP: Final = 96
"""The column that folded texts are wrapped at."""


@dataclass(frozen=True)
class Kind:
    """One kind of rule a tool gets.

    Attributes:
        title: The suffix of the rule's name, e.g. ``File Signature``.
        category: The data category.
        table: The Defender table that Sentinel's connector declares.
        hash_field: The field holding the SHA1 of the sanctioned binary.
        what: What the binary is, in an exclusion's description.
    """

    title: str
    category: str
    table: str
    hash_field: str
    what: str


KINDS: Final[dict[str, Kind]] = {
    "signer": Kind(
        "File Signature",
        "file_signature",
        "DeviceFileCertificateInfo",
        "file.hash.sha1",
        "signed file",
    ),
    "process": Kind("Process", "process", "DeviceProcessEvents", "process.hash.sha1", "process"),
    "network": Kind(
        "Network", "network", "DeviceNetworkEvents", "process.hash.sha1", "connecting process"
    ),
}
"""The rule kinds, by name."""

MatchSpec = tuple[str, str, Sequence[str]]
"""A match to write: field, operator and values."""


@dataclass(frozen=True)
class RuleSpec:
    """Everything one rule document says.

    Attributes:
        kind: A key of :data:`KINDS`.
        rule_id: The rule's id.
        tool: The tool's name.
        vendor: Who makes it.
        matches: The detection; several matches form an any-of.
        references: Public sources of the values.
        description: What the rule finds.
        notes: Choices made and which source was followed.
        status: The rule's status.
        author: Who wrote the rule.
        date: When it was written, ``YYYY-MM-DD``.
        website: The vendor's page for the tool, if known.
        comments: Lines written as ``#`` comments above the document's keys.
    """

    kind: str
    rule_id: uuid.UUID
    tool: str
    vendor: str
    matches: Sequence[MatchSpec]
    references: Sequence[str]
    description: str
    notes: str
    status: str
    author: str
    date: str
    website: str | None = None
    comments: Sequence[str] = field(default_factory=tuple)


_UNPRINTABLE: Final = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
"""Characters a YAML reader rejects or folds even in a double-quoted scalar, unless escaped."""


def quote(value: str) -> str:
    """Quote a scalar for YAML; a JSON string is a valid YAML double-quoted scalar.

    Example:
        >>> quote("ConnectWise, LLC")
        '"ConnectWise, LLC"'
    """
    text = json.dumps(value, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _folded(key: str, text: str, indent: int = 0) -> list[str]:
    pad = " " * (indent + 2)
    body = textwrap.wrap(text, WRAP - len(pad), break_on_hyphens=False, break_long_words=False)
    return [f"{' ' * indent}{key}: >-", *(pad + line for line in body)]


def _match(spec: MatchSpec, indent: int) -> list[str]:
    field_name, op, values = spec
    pad = " " * indent
    lines = [f"{pad}- field: {field_name}", f"{pad}  op: {op}", f"{pad}  values:"]
    return lines + [f"{pad}    - {quote(v)}" for v in values]


def _detection(matches: Sequence[MatchSpec]) -> list[str]:
    if len(matches) == 1:
        return ["detection:", *("  " + line[2:] for line in _match(matches[0], 0))]
    lines = ["detection:", "  any:"]
    for spec in matches:
        lines += _match(spec, 4)
    return lines


def exclusions_for(kind: str, tool: str) -> list[tuple[str, str, str, str]]:
    """Return a rule kind's exclusion scenarios: name, description, field and placeholder.

    Every placeholder starts with the tool's slug, so one site file serves every tool.
    """
    slug = tool_slug(tool)
    spec = KINDS[kind]
    found = [
        (
            f"Sanctioned {tool} installer",
            f"The site deploys {tool} on purpose; the {spec.what} is the site's approved "
            "installer or agent, identified by its SHA1.",
            spec.hash_field,
            f"{{{{{slug}_sanctioned_installer_sha1}}}}",
        ),
        (
            f"Approved {tool} admin hosts",
            f"The hosts from which the site's administrators use {tool} as part of their work.",
            "host.name",
            f"{{{{{slug}_approved_admin_hosts}}}}",
        ),
    ]
    if kind == "network":
        found.append(
            (
                f"Approved {tool} management server",
                f"The site's own {tool} server or tenant that its managed hosts connect to.",
                "destination.domain",
                f"{{{{{slug}_management_server}}}}",
            )
        )
    return found


def _exclusions(kind: str, tool: str) -> list[str]:
    lines = ["exclusions:"]
    for name, description, field_name, placeholder in exclusions_for(kind, tool):
        lines.append(f"  - name: {quote(name)}")
        lines += _folded("description", description, indent=4)
        lines += [
            "    condition:",
            f"      field: {field_name}",
            "      op: equals",
            f"      value: {quote(placeholder)}",
        ]
    return lines


_AGGREGATION: Final = (
    "window: 5d",
    "aggregation:",
    "  by: [host.id, host.name]",
    "  outputs:",
    '    - {name: FirstSeen, function: min, field: "@timestamp"}',
    '    - {name: LastSeen, function: max, field: "@timestamp"}',
    "    - {name: Report, function: values, field: event.id}",
    "    - {name: Count, function: count}",
)


def rule_name(tool: str, kind: str) -> str:
    """Return the name of a tool's rule of one kind, short enough for every target.

    Parenthesised parts of the tool's name are left out: Splunk's contentctl takes detection
    names of at most 67 characters.

    Example:
        >>> rule_name("NinjaOne (NinjaRMM)", "signer")
        'RMM tool - NinjaOne - File Signature'
    """
    short = " ".join(re.sub(r"\([^)]*\)", " ", tool).split())
    return f"RMM tool - {short} - {KINDS[kind].title}"


def rule_lines(spec: RuleSpec) -> list[str]:
    """Write one rule as the lines of a YAML document, starting with ``---``."""
    kind = KINDS[spec.kind]
    name = rule_name(spec.tool, spec.kind)
    lines = [
        "---",
        *(f"# {line}".rstrip() for line in spec.comments),
        f"id: {spec.rule_id}",
        f"name: {quote(name)}",
        *_folded("description", spec.description),
        "references:",
        *(f"  - {quote(url)}" for url in spec.references),
        f"author: {quote(spec.author)}",
        f"date: {spec.date}",
        f"status: {spec.status}",
        "severity: medium",
        "attack:",
        "  tactics: [CommandAndControl]",
        "  techniques: [T1219]",
        "tool:",
        f"  name: {quote(spec.tool)}",
        f"  vendor: {quote(spec.vendor)}",
        *([f"  website: {quote(spec.website)}"] if spec.website else []),
        "data:",
        f"  category: {kind.category}",
        "  connectors:",
        "    - id: MicrosoftThreatProtection",
        f"      data_types: [{kind.table}]",
        *_detection(spec.matches),
        *_AGGREGATION,
        *_exclusions(spec.kind, spec.tool),
        *_folded("notes", spec.notes),
    ]
    return lines


def domain_matches(domains: Sequence[str]) -> list[MatchSpec]:
    """Turn host names and ``*.suffix`` patterns into equals and endswith matches.

    ``*.example.com`` stands for any subdomain; the bare ``example.com`` is the same vendor's
    and is matched too.

    Example:
        >>> domain_matches(["*.example.com", "api.example.org"])
        [('destination.domain', 'equals', ['api.example.org', 'example.com']), \
('destination.domain', 'endswith', ['.example.com'])]
    """
    exact: set[str] = set()
    suffixes: set[str] = set()
    for domain in domains:
        if domain.startswith("*."):
            suffixes.add(domain[1:])
            exact.add(domain[2:])
        else:
            exact.add(domain)
    found: list[MatchSpec] = []
    if exact:
        found.append(("destination.domain", "equals", sorted(exact)))
    if suffixes:
        found.append(("destination.domain", "endswith", sorted(suffixes)))
    return found


_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST: Final = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})+")


def is_host_pattern(value: str) -> bool:
    """Tell whether a value is a lower-case host name, or ``*.`` and one.

    Example:
        >>> is_host_pattern("*.anydesk.com"), is_host_pattern("relay-*.anydesk.com:443")
        (True, False)
    """
    return _HOST.fullmatch(value) is not None


_TODO_REFERENCE: Final = "https://example.com/replace-with-the-public-source"

_GUIDE: Final = {
    "signer": [
        "Signer rule: files signed by the tool's publisher (Defender: DeviceFileCertificateInfo).",
        "values: certificate subjects exactly as the certificate carries them (op equals);",
        "add a second match with op has for short terms (has ignores case, whole words only).",
        "Never a signer the vendor shares across products (see rmmdetect.lint.SHARED_SIGNERS).",
    ],
    "process": [
        "Process rule: the tool's executables by name (Defender: DeviceProcessEvents).",
        "Add a match on process.pe.company (op has) if a source gives the version-info company.",
    ],
    "network": [
        "Network rule: connections to the tool's service domains (Defender: DeviceNetworkEvents).",
        "'*.example.com' is written as endswith '.example.com' plus equals 'example.com'.",
    ],
}


def new_rule_file(
    tool: str,
    vendor: str,
    *,
    signers: Sequence[str] = (),
    processes: Sequence[str] = (),
    domains: Sequence[str] = (),
    references: Sequence[str] = (),
    author: str = "rmmdetect contributors",
    today: dt.date | None = None,
) -> str:
    """Write the rule file of a new tool: one experimental rule per kind of value given.

    Args:
        tool: The tool's name, e.g. ``Foo Remote``.
        vendor: Who makes it.
        signers: Certificate subjects of the vendor's signed files.
        processes: Executable names, e.g. ``foo.exe``.
        domains: Service host names, ``*.example.com`` for any subdomain.
        references: Public sources of the values; a placeholder URL (which ``rmmdetect
            check`` warns about) when none is given.
        author: Who writes the rule.
        today: The rule's date; today when ``None``.

    Returns:
        The file's text; every rule has a fresh random id.

    Raises:
        RmmdetectError: No value was given, a name is empty or a domain is not a host name.
    """
    if not tool.strip() or not vendor.strip() or not tool_slug(tool):
        raise RmmdetectError("give the tool's name and vendor, e.g. --tool 'Foo' --vendor 'Foo'")
    if not (signers or processes or domains):
        raise RmmdetectError("give at least one --signer, --process or --domain value")
    for domain in domains:
        if not is_host_pattern(domain.lower()):
            raise RmmdetectError(
                f"'{domain}' is not a host name; allowed: host.example.com or *.example.com"
            )
    date = (today or dt.date.today()).isoformat()
    refs = list(references) or [_TODO_REFERENCE]
    values: dict[str, list[MatchSpec]] = {
        "signer": [("file.code_signature.subject_name", "equals", list(signers))]
        if signers
        else [],
        "process": [("process.name", "equals", list(processes))] if processes else [],
        "network": domain_matches([d.lower() for d in domains]),
    }
    lines = [
        f"# {tool}: remote monitoring and management tool by {vendor.rstrip('.')}.",
        "# Started with `rmmdetect new`; check it with `rmmdetect check` before committing.",
        "# Exclusion placeholders ({{...}}) are filled in by each site's site file.",
    ]
    for kind, matches in values.items():
        if not matches:
            continue
        spec = RuleSpec(
            kind=kind,
            rule_id=uuid.uuid4(),
            tool=tool,
            vendor=vendor,
            matches=matches,
            references=refs,
            description=f"{tool} is a remote monitoring and management (RMM) tool by "
            f"{vendor.rstrip('.')}. Attackers install RMM tools to persist on a host and to "
            "control it remotely.",
            notes="Started with rmmdetect new: say here which source each value follows and "
            "why any value was left out.",
            status="experimental",
            author=author,
            date=date,
            comments=_GUIDE[kind],
        )
        lines += rule_lines(spec)
    return "\n".join(lines) + "\n"


def write_new(path: Path, text: str) -> None:
    """Create a file with ``text``; never overwrite one.

    Raises:
        RmmdetectError: The file exists already or cannot be written.
    """
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise RmmdetectError(f"{path} exists already; choose another file with -o") from None
    except OSError as error:
        raise RmmdetectError(f"cannot write {path}: {error}") from None
    logger.debug("wrote %s", path)
