"""Checks a catalog beyond its schema: naming, sources, broad signers, placeholders, rendering.

The loader already rejects malformed files, repeated ids and repeated names; this module adds
the conventions a contributor is expected to follow and proves that every rule renders for
every registered target. It returns structured :class:`Finding` objects and never prints;
``rmmdetect check`` shows them.

Example:
    >>> tool_slug("ConnectWise ScreenConnect (Control)")
    'connectwise_screenconnect'
    >>> is_shared_signer("Google LLC")
    True
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from rmmdetect.errors import CatalogError, Policy, RmmdetectError, RuleFileError
from rmmdetect.loader import Catalog, load_catalog
from rmmdetect.model import AnyOf, Condition, DataCategory, Match, Rule
from rmmdetect.rendering import convert, targets
from rmmdetect.site import Site

__all__ = [
    "SHARED_SIGNERS",
    "SIGNER_FIELDS",
    "Finding",
    "Level",
    "Summary",
    "example_site",
    "is_shared_signer",
    "lint",
    "lint_catalog",
    "summarize",
    "tool_slug",
]

logger = logging.getLogger("rmmdetect")

SHARED_SIGNERS: Final[dict[str, str]] = {
    "google llc": "Google signs all its software, not only Chrome Remote Desktop",
    "google inc": "Google signs all its software, not only Chrome Remote Desktop",
    "google": "Google publishes all its software, not only Chrome Remote Desktop",
    "microsoft corporation": "Microsoft signs Windows itself and most of its products",
    "microsoft windows": "Microsoft signs Windows itself and most of its products",
    "zoho": "Zoho signs Zoho Assist, ManageEngine and every other Zoho product",
    "zoho corporation private limited": (
        "Zoho signs Zoho Assist, ManageEngine and every other Zoho product"
    ),
    "goto technologies usa, llc": "GoTo signs LogMeIn, GoTo Resolve and GoToMeeting alike",
    "goto, inc": "GoTo signs LogMeIn, GoTo Resolve and GoToMeeting alike",
    "logmein, inc.": "LogMeIn signs LogMeIn, GoToMeeting (G2M.exe) and its updaters alike",
    "logmein": "LogMeIn signs LogMeIn, GoToMeeting (G2M.exe) and its updaters alike",
    "comodo": "Comodo publishes Itarian and unrelated security products",
    "comodo security solutions": "Comodo signs Itarian and unrelated security products",
    "comodo security solutions, inc.": "Comodo signs Itarian and unrelated security products",
    "solarwinds": "SolarWinds signed DameWare, N-able's former products and unrelated software",
}
"""Signers and publisher names (lower case) that a vendor shares with unrelated products.

A detection on one of these alone finds far more than RMM tools; combine it with a product or
process condition, or leave it out. A vendor's signer shared only by its own RMM products
(ConnectWise for ScreenConnect and Automate, Kaseya for VSA, Oray for AweSun and SunLogin) is
not listed: a hit is still an RMM tool, and the rule's notes say the signer names the vendor's
family rather than one product.
"""

SIGNER_FIELDS: Final = frozenset(
    {"file.code_signature.subject_name", "process.code_signature.subject_name"}
)
"""The fields that hold a code-signing subject."""

_SLUG: Final = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_PLACEHOLDER_HOST: Final = re.compile(r"^https?://(?:www\.)?example\.(?:com|org|net)(?:/|$)")


class Level(StrEnum):
    """How serious a finding is.

    Attributes:
        ERROR: The catalog must not ship like this; ``rmmdetect check`` exits 1.
        WARNING: Worth a look; the check still passes.
    """

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem found in a rule file.

    Attributes:
        level: Error or warning.
        code: A short stable name of the check, e.g. ``file-name``.
        path: The rule file.
        message: What is wrong and what is expected.
        rule: The rule's name, when the finding is about one rule.
    """

    level: Level
    code: str
    path: Path | None
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "<catalog>"
        about = f" rule '{self.rule}':" if self.rule else ""
        return f"{where}:{about} {self.message} [{self.code}]"


def tool_slug(name: str) -> str:
    """Return the lower_snake_case file stem for a tool's name.

    Parenthesised parts (former names, editions) are dropped; every run of characters other
    than ASCII letters and digits becomes one underscore.

    Example:
        >>> tool_slug("N-able (N-sight / Advanced Monitoring Agent / N-central)")
        'n_able'
        >>> tool_slug("Getscreen.me")
        'getscreen_me'
    """
    bare = re.sub(r"\([^)]*\)", " ", name)
    return re.sub(r"[^a-z0-9]+", "_", bare.lower()).strip("_")


def is_shared_signer(value: str) -> bool:
    """Tell whether a signer value is one a vendor shares across products (any case)."""
    return value.strip().lower() in SHARED_SIGNERS


def _alternatives(condition: Condition) -> Iterable[Match]:
    """Yield the signer matches that suffice alone for the condition to hold."""
    if isinstance(condition, Match):
        if condition.field in SIGNER_FIELDS:
            yield condition
    elif isinstance(condition, AnyOf):
        for child in condition.any:
            yield from _alternatives(child)


def _broad_signers(rule: Rule, path: Path) -> list[Finding]:
    found = []
    for match in _alternatives(rule.detection):
        for value in match.values:
            if is_shared_signer(value):
                reason = SHARED_SIGNERS[value.strip().lower()]
                found.append(
                    Finding(
                        Level.WARNING,
                        "broad-signer",
                        path,
                        f"signer '{value}' alone is a broad detection ({reason}); combine it "
                        "with a process or product condition, or leave it out",
                        rule.name,
                    )
                )
    return found


def _shared_placeholders(catalog: Catalog) -> list[Finding]:
    """Warn when tools share a placeholder: one site value would then apply to all of them."""
    users: dict[str, dict[str, tuple[Rule, Path]]] = {}
    for rule in catalog:
        path = catalog.sources.get(rule.id)
        for name in {n for exclusion in rule.exclusions for n in exclusion.placeholders()}:
            if path is not None:
                users.setdefault(name, {}).setdefault(rule.tool.name, (rule, path))
    found = []
    for name, tools in sorted(users.items()):
        if len(tools) < 2:
            continue
        for tool, (rule, path) in sorted(tools.items()):
            others = ", ".join(sorted(set(tools) - {tool}))
            found.append(
                Finding(
                    Level.WARNING,
                    "placeholder-name",
                    path,
                    f"placeholder '{{{{{name}}}}}' is also used by {others}: one site value "
                    f"would serve both; start it with the tool's slug, e.g. "
                    f"'{{{{{tool_slug(tool)}_{name}}}}}'",
                    rule.name,
                )
            )
    return found


def _naming(rule: Rule, path: Path) -> list[Finding]:
    expected = tool_slug(rule.tool.name)
    problems = []
    if not _SLUG.fullmatch(path.stem) or path.suffix != ".yml":
        problems.append(f"file name '{path.name}' is not lower_snake_case.yml")
    if path.stem != expected:
        problems.append(f"a rule for tool '{rule.tool.name}' belongs in '{expected}.yml'")
    return [Finding(Level.ERROR, "file-name", path, p, rule.name) for p in problems]


def _sources(rule: Rule, path: Path) -> list[Finding]:
    if not rule.references:
        message = "no references: cite the public sources the rule's values come from"
        return [Finding(Level.ERROR, "sources", path, message, rule.name)]
    return [
        Finding(
            Level.WARNING,
            "sources",
            path,
            f"reference '{url}' is a placeholder: cite the public source instead",
            rule.name,
        )
        for url in rule.references
        if _PLACEHOLDER_HOST.match(url)
    ]


def example_site(rule: Rule) -> Site:
    """Return a site that fills every placeholder of a rule with a plausible value.

    Hashes get a hexadecimal digest of the right length, IP addresses a documentation
    address, anything else a name; used to render every exclusion, not only the detection.

    Example:
        >>> from rmmdetect import load_catalog
        >>> rule = load_catalog().get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6")
        >>> example_site(rule).placeholders["siem_server_ip"]
        '192.0.2.1'
    """
    names = sorted({name for exclusion in rule.exclusions for name in exclusion.placeholders()})
    return Site(placeholders={name: _example_value(name) for name in names})


def _example_value(name: str) -> str:
    for suffix, algorithm in _HASHES.items():
        if name.endswith(suffix):
            return hashlib.new(algorithm, name.encode()).hexdigest()
    if name.endswith("_ip"):
        return "192.0.2.1"
    return f"example-{name.replace('_', '-')}"


_HASHES: Final = {"sha256": "sha256", "md5": "md5", "sha1": "sha1", "hash": "sha1"}


def _rendering(rule: Rule, path: Path) -> list[Finding]:
    site = example_site(rule)
    found = []
    for target, info in targets().items():
        for fmt in info.formats:
            try:
                convert(rule, target, fmt, site=site, unsupported=Policy.COLLECT)
            except RmmdetectError as error:
                message = f"does not render for {target} ({fmt}): {error}"
                found.append(Finding(Level.ERROR, "render", path, message, rule.name))
    return found


_CHECKS: Final = (_naming, _sources, _broad_signers, _rendering)


def lint_catalog(catalog: Catalog) -> list[Finding]:
    """Check every rule of a loaded catalog against the catalog's conventions.

    Args:
        catalog: A catalog that has passed the loader's schema checks.

    Returns:
        The findings, in catalog order; empty when all is well.
    """
    findings: list[Finding] = []
    for rule in catalog:
        path = catalog.sources.get(rule.id)
        if path is None:
            continue
        for check in _CHECKS:
            findings.extend(check(rule, path))
    findings.extend(_shared_placeholders(catalog))
    logger.debug("linted %d rules: %d findings", len(catalog), len(findings))
    return findings


def lint(paths: Sequence[str | Path] | None = None) -> tuple[Catalog | None, list[Finding]]:
    """Load and check rule files; a file the loader rejects becomes an error finding.

    Args:
        paths: Rule files or folders; the bundled catalog when ``None`` or empty.

    Returns:
        The catalog (``None`` when it did not load) and the findings.
    """
    try:
        catalog = load_catalog(list(paths) if paths else None)
    except CatalogError as error:
        return None, [_schema_finding(item) for item in error.errors]
    except RuleFileError as error:
        return None, [_schema_finding(error)]
    return catalog, lint_catalog(catalog)


def _schema_finding(error: RuleFileError) -> Finding:
    where = f"line {error.line}: " if error.line is not None else ""
    field_name = f"{error.field}: " if error.field else ""
    return Finding(Level.ERROR, "schema", error.path, f"{where}{field_name}{error.problem}")


@dataclass(frozen=True)
class Summary:
    """Counts over a catalog and the facts it left out.

    Attributes:
        tools: The number of distinct tools.
        rules: The number of rules.
        by_category: Rules per data category.
        skipped: Facts the catalog left out, each a mapping with at least ``tool``,
            ``value`` and ``reason``.
    """

    tools: int
    rules: int
    by_category: Mapping[str, int]
    skipped: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    def skipped_by_reason(self) -> dict[str, int]:
        """Return how many facts were skipped for each reason, most frequent first."""
        counts = Counter(str(item.get("reason", "")) for item in self.skipped)
        return dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])))


def summarize(catalog: Catalog, skipped_file: Path | None = None) -> Summary:
    """Count a catalog's tools and rules, and read the facts it skipped.

    Args:
        catalog: The catalog.
        skipped_file: A ``skipped.json`` written by the catalog generator; none when ``None``
            or missing.

    Returns:
        The summary.

    Raises:
        RuleFileError: The skipped file is not a JSON list of objects.
    """
    categories = Counter(rule.data.category.value for rule in catalog)
    by_category = {c.value: categories.get(c.value, 0) for c in DataCategory}
    skipped: list[Mapping[str, Any]] = []
    if skipped_file is not None and skipped_file.is_file():
        try:
            data = json.loads(skipped_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RuleFileError(f"cannot read skipped facts: {error}", path=skipped_file) from None
        items = data.get("skipped") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise RuleFileError("expected {'skipped': [{...}, ...]}", path=skipped_file)
        skipped = items
    tools = {rule.tool.name.lower() for rule in catalog}
    return Summary(len(tools), len(catalog), by_category, tuple(skipped))
