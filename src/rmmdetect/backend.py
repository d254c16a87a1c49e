"""The contract every backend implements, built-in or third-party.

A backend turns a validated, resolved :class:`~rmmdetect.model.Rule` into the text of one
platform's language. It never sees YAML or dicts, and never imports another backend.

How to add a backend:

1. Subclass :class:`Backend`; set ``name``, ``description``, ``formats`` (format name to a
   one-line description), ``default_format`` and ``fidelity`` (how exactly each operator and
   option renders), and implement :meth:`Backend.render`.
2. Where the platform cannot express part of a rule, call
   :meth:`RenderContext.unsupported`; where it can only approximate it, call
   :meth:`RenderContext.approximated`. Never drop anything silently.
3. Register the class in your package's ``pyproject.toml``::

       [project.entry-points."rmmdetect.backends"]
       mytarget = "my_package.backend:MyBackend"

   The built-in backends register the same way; :func:`rmmdetect.targets` lists them all.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final

from rmmdetect.errors import Policy, RmmdetectError, UnsupportedFeatureError
from rmmdetect.model import Rule

__all__ = [
    "FIDELITY_KEYS",
    "Backend",
    "Fidelity",
    "Note",
    "NoteKind",
    "RenderContext",
    "Rendering",
]

logger = logging.getLogger("rmmdetect")


class Fidelity(StrEnum):
    """How faithfully a backend renders an operator or option.

    Attributes:
        EXACT: The rendered query selects exactly the events the reference evaluator selects.
        SUPERSET: It selects at least those events, possibly more.
        UNSUPPORTED: The target cannot express it; the caller's policy decides.
    """

    EXACT = "exact"
    SUPERSET = "superset"
    UNSUPPORTED = "unsupported"


FIDELITY_KEYS: Final = (
    "equals",
    "contains",
    "startswith",
    "endswith",
    "has",
    "any-of",
    "cased",
    "window",
    "aggregation",
    "exclusions",
)
"""What every backend's ``fidelity`` table must cover: the operators, an any-of list, cased
matching, the lookback window, the aggregation and exclusions. A backend adds its options."""


_FLAGS: Final = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}


class NoteKind(StrEnum):
    """What a note reports."""

    APPROXIMATED = "approximated"
    OMITTED = "omitted"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Note:
    """Something a rendering approximated or left out.

    Attributes:
        kind: Approximated, omitted or unsupported.
        message: What, in a sentence.
    """

    kind: NoteKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Rendering:
    """A rendered rule and what the rendering could not carry exactly.

    Attributes:
        text: The query or rule file.
        target: The backend's name.
        format: The format's name.
        notes: Approximations and omissions, in the order they arose.
    """

    text: str
    target: str
    format: str
    notes: tuple[Note, ...] = ()


@dataclass
class RenderContext:
    """What one render call carries: the caller's policy, options and the notes so far.

    Attributes:
        backend: The backend's name, for messages.
        rule: The rule being rendered.
        policy: What to do with a part the target cannot express.
        options: Backend-specific options, checked against the backend's ``options``.
        notes: Notes collected so far.
    """

    backend: str
    rule: Rule
    policy: Policy = Policy.RAISE
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def flag(self, name: str) -> bool:
        """Return a yes/no option: ``True``, or ``true``/``yes``/``on``/``1`` from the CLI.

        Raises:
            RmmdetectError: The option's value is not a yes/no word.
        """
        value = self.options.get(name, False)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _FLAGS:
            raise RmmdetectError(
                f"option {name}={value!r} of target '{self.backend}': "
                f"allowed: {', '.join(sorted(_FLAGS))}"
            )
        return _FLAGS[text]

    def unsupported(self, feature: str) -> None:
        """Report a part the target cannot express; raises under the ``raise`` policy.

        Raises:
            UnsupportedFeatureError: The policy is ``raise``.
        """
        if self.policy is Policy.RAISE:
            raise UnsupportedFeatureError(self.backend, self.rule.name, feature)
        self._note(NoteKind.UNSUPPORTED, f"{feature} cannot be expressed; left out")

    def approximated(self, message: str) -> None:
        """Record that part of the rule renders as a superset of its meaning."""
        self._note(NoteKind.APPROXIMATED, message)

    def omitted(self, message: str) -> None:
        """Record that part of the rule was left out on the caller's request."""
        self._note(NoteKind.OMITTED, message)

    def _note(self, kind: NoteKind, message: str) -> None:
        note = Note(kind, message)
        if note in self.notes:
            return
        self.notes.append(note)
        if self.policy is Policy.WARN or kind is NoteKind.OMITTED:
            logger.warning("%s, rule '%s': %s", self.backend, self.rule.name, note)


class Backend(ABC):
    """Base class of every backend."""

    name: ClassVar[str]
    """The target's name on the command line, e.g. ``kql``."""
    description: ClassVar[str]
    """One line on what the target is."""
    formats: ClassVar[Mapping[str, str]]
    """Each format's name and a one-line description."""
    default_format: ClassVar[str]
    """The format used when the caller names none."""
    options: ClassVar[Mapping[str, str]] = {}
    """Backend-specific options and what each does."""
    suffixes: ClassVar[Mapping[str, str]] = {}
    """Each format's file-name suffix, without the dot, for packs; ``txt`` when absent."""
    fidelity: ClassVar[Mapping[str, Fidelity]] = {}
    """How exactly each of :data:`FIDELITY_KEYS`, and each option, renders."""

    @abstractmethod
    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        """Render a resolved rule.

        Args:
            rule: A validated rule whose exclusions hold no placeholder.
            format: One of ``formats``; the caller has checked it.
            context: Policy, options and the notes to add to.

        Returns:
            The rendered text, ending with a newline.

        Raises:
            UnsupportedFeatureError: Part of the rule cannot be expressed under ``raise``.
        """

    def file_name(self, rule: Rule, format: str) -> str:
        """Return the file name of one rule's rendering in a pack.

        The default is the rule's name in lower_snake_case with the format's suffix; a backend
        whose platform has a naming convention overrides it.
        """
        stem = "_".join(re.findall(r"[a-z0-9]+", rule.name.lower())) or str(rule.id)
        return f"{stem}.{self.suffixes.get(format, 'txt')}"

    def join(self, texts: Sequence[str], format: str) -> str:
        """Join several renderings of one format into one output.

        The default separates them with a blank line; a backend whose format is a YAML
        document should join with ``---`` so that the output stays one valid stream.
        """
        return "\n".join(texts)
