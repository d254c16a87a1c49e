"""The error tree of rmmdetect: one root, with the context a detection engineer needs.

Every error that a user's input can cause derives from :class:`RmmdetectError`. The CLI
catches that root, prints the message and exits with status 1; anything else is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

__all__ = [
    "CatalogError",
    "PlaceholderError",
    "Policy",
    "RmmdetectError",
    "RuleFileError",
    "UnknownTargetError",
    "UnsupportedFeatureError",
    "UnsupportedQueryError",
    "did_you_mean",
]


class Policy(StrEnum):
    """What to do when a target cannot express part of a rule.

    Attributes:
        RAISE: Stop with :class:`UnsupportedFeatureError`.
        WARN: Leave the part out, log a warning on the ``rmmdetect`` logger and record a note.
        COLLECT: Leave the part out and record a note only, for callers that report in bulk.
    """

    RAISE = "raise"
    WARN = "warn"
    COLLECT = "collect"


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return a ``" (did you mean 'x'?)"`` hint for a mistyped choice, or an empty string."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class RmmdetectError(Exception):
    """Root of every error rmmdetect raises for a user's input."""


class RuleFileError(RmmdetectError):
    """A rule or site file is malformed.

    Attributes:
        path: The file, when the input came from one.
        line: The 1-based line of the offending value, when known.
        field: The dotted path of the offending field, when known.
        problem: What is wrong and what is allowed.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field
        self.problem = problem
        super().__init__(self._format())

    def _format(self) -> str:
        where = str(self.path) if self.path is not None else "<input>"
        if self.line is not None:
            where += f":{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.problem}"


class CatalogError(RmmdetectError):
    """One or more rule files of a catalog are invalid.

    Attributes:
        errors: Every file error found, in file order.
    """

    def __init__(self, errors: Sequence[RuleFileError]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        lines = "\n".join(str(error) for error in self.errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the catalog:\n{lines}")


class PlaceholderError(RmmdetectError):
    """A placeholder has no value from the site file and the caller asked to fail."""

    def __init__(self, rule: str, exclusion: str, names: Sequence[str]) -> None:
        self.rule = rule
        self.exclusion = exclusion
        self.names = tuple(names)
        listed = ", ".join(f"{{{{{name}}}}}" for name in self.names)
        super().__init__(
            f"rule '{rule}', exclusion '{exclusion}': no site value for {listed}; "
            "give it in a site file under 'placeholders:', or let unresolved exclusions be "
            "omitted with a warning (unresolved='omit'; on the command line --unresolved omit)"
        )


class UnknownTargetError(RmmdetectError):
    """A target or format name is not registered."""

    def __init__(
        self, kind: str, name: str, choices: Iterable[str], *, owner: str | None = None
    ) -> None:
        options = sorted(choices)
        self.name = name
        self.choices = tuple(options)
        of = f" of {owner}" if owner else ""
        if options:
            allowed = f"allowed: {', '.join(options)}"
        elif owner:
            allowed = f"{owner} has no {kind}s"
        else:
            allowed = f"no {kind} is registered"
        super().__init__(f"unknown {kind} '{name}'{of}{did_you_mean(name, options)}; {allowed}")


class UnsupportedFeatureError(RmmdetectError):
    """A target cannot express part of a rule, and the policy is ``raise``.

    Attributes:
        backend: The target's name.
        rule: The rule's name.
        feature: What could not be expressed.
    """

    def __init__(self, backend: str, rule: str, feature: str) -> None:
        self.backend = backend
        self.rule = rule
        self.feature = feature
        super().__init__(f"target '{backend}' cannot express {feature} (rule '{rule}')")


class UnsupportedQueryError(RuleFileError):
    """A file in another format cannot be imported as a rule without guessing its meaning.

    Raised by :mod:`rmmdetect.importers` for a query step, operator, column or key outside the
    shapes an importer reads; the message names the part and what is supported.
    """
