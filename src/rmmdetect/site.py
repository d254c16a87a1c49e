"""Site values for placeholders, and the resolution of a rule's exclusions against them.

Exclusion values such as ``{{legitimate_supremo_msi_hash}}`` are known only to the site that
deploys a rule. A site file gives them::

    placeholders:
      legitimate_supremo_msi_hash: 3f786850e387550fdab836ed7e6dc881de23001b
      siem_server_ip: [10.0.0.5, 10.0.0.6]   # a list makes the match an any-of

An exclusion whose placeholders are not all filled is never rendered with the placeholder as a
literal: the caller either omits it (a warning names it) or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from rmmdetect.errors import PlaceholderError, RuleFileError
from rmmdetect.model import AllOf, Condition, Exclusion, Match, Not, Rule, placeholder_name

__all__ = [
    "OMITTED_RECORD",
    "Resolution",
    "Site",
    "Unresolved",
    "load_site",
    "resolve",
    "unresolved_names",
]

logger = logging.getLogger("rmmdetect")

_Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
_Value = Annotated[str, StringConstraints(min_length=1)]


OMITTED_RECORD: Final = "rmmdetect_omitted_exclusion"
"""Set on the log record of each omitted exclusion, so a front end can summarise them."""


class Unresolved(StrEnum):
    """What to do with an exclusion whose placeholders have no site value.

    Attributes:
        OMIT: Leave the exclusion out and log a warning that names it.
        FAIL: Raise :class:`~rmmdetect.errors.PlaceholderError`.
    """

    OMIT = "omit"
    FAIL = "fail"


class Site(BaseModel):
    """A site's placeholder values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    placeholders: dict[_Name, _Value | tuple[_Value, ...]] = Field(default_factory=dict)
    """Values by placeholder name; a list makes the match an any-of over its items."""

    def values_of(self, name: str) -> tuple[str, ...] | None:
        """Return the values given for a placeholder, or ``None`` if the site gives none."""
        value = self.placeholders.get(name)
        if value is None:
            return None
        return (value,) if isinstance(value, str) else value


def load_site(path: str | Path) -> Site:
    """Load a site file.

    Raises:
        RuleFileError: The file is malformed; the message names the line and the key.
    """
    from rmmdetect.loader import load_yaml_documents, validation_errors

    source = Path(path)
    documents = load_yaml_documents(source)
    if len(documents) != 1:
        raise RuleFileError(
            f"a site file holds exactly one YAML document, not {len(documents)}; {_SHAPE}",
            path=source,
        )
    document = documents[0]
    try:
        return Site.model_validate(document.data)
    except ValidationError as error:
        # Of a union's failed branches, the one that reached deepest fits what was written.
        first = max(validation_errors(error, document, Site), key=lambda e: len(e.field or ""))
        raise RuleFileError(
            f"{first.problem}; {_SHAPE}", path=source, line=first.line, field=first.field
        ) from None


_SHAPE = (
    "a site file is 'placeholders:' mapping lower_snake_case names to quoted text "
    "or a list of quoted texts"
)


@dataclass(frozen=True)
class Resolution:
    """A rule with its placeholders filled, and what was left out.

    Attributes:
        rule: The rule; its exclusions contain no placeholder.
        omitted: The exclusions left out, each with the placeholders that had no value.
    """

    rule: Rule
    omitted: tuple[tuple[Exclusion, tuple[str, ...]], ...] = field(default=())


def _fill(condition: Condition, site: Site) -> Condition:
    if isinstance(condition, Match):
        values: list[str] = []
        for value in condition.values:
            name = placeholder_name(value)
            filled = site.values_of(name) if name else None
            values.extend(filled if filled is not None else (value,))
        return condition.model_copy(update={"values": tuple(dict.fromkeys(values))})
    if isinstance(condition, Not):
        return condition.model_copy(update={"not_": _fill(condition.not_, site)})
    if isinstance(condition, AllOf):
        return condition.model_copy(update={"all": tuple(_fill(c, site) for c in condition.all)})
    return condition.model_copy(update={"any": tuple(_fill(c, site) for c in condition.any)})


def resolve(
    rule: Rule, site: Site | None = None, unresolved: Unresolved | str = Unresolved.OMIT
) -> Resolution:
    """Fill a rule's placeholders from a site's values.

    Args:
        rule: The rule.
        site: The site's values; none when ``None``.
        unresolved: What to do with an exclusion whose placeholders are not all given.

    Returns:
        The resolved rule and the exclusions omitted.

    Raises:
        PlaceholderError: A placeholder has no value and ``unresolved`` is ``fail``.
    """
    policy = Unresolved(unresolved)
    site = site or Site()
    kept: list[Exclusion] = []
    omitted: list[tuple[Exclusion, tuple[str, ...]]] = []
    for exclusion in rule.exclusions:
        missing = tuple(n for n in exclusion.placeholders() if site.values_of(n) is None)
        if not missing:
            condition = _fill(exclusion.condition, site)
            kept.append(exclusion.model_copy(update={"condition": condition}))
            continue
        if policy is Unresolved.FAIL:
            raise PlaceholderError(rule.name, exclusion.name, missing)
        logger.warning(
            "rule '%s': exclusion '%s' omitted, no site value for %s",
            rule.name,
            exclusion.name,
            ", ".join(missing),
            extra={OMITTED_RECORD: True},
        )
        omitted.append((exclusion, missing))
    resolved = rule.model_copy(update={"exclusions": tuple(kept)})
    return Resolution(resolved, tuple(omitted))


def unresolved_names(rules: Sequence[Rule]) -> Mapping[str, int]:
    """Count how many rules use each placeholder, for reports and lints."""
    counts: dict[str, int] = {}
    for rule in rules:
        names = {n for exclusion in rule.exclusions for n in exclusion.placeholders()}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts
