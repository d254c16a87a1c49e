"""The library's entry to rendering: resolve placeholders, pick the backend, collect notes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rmmdetect.backend import Note, NoteKind, RenderContext, Rendering
from rmmdetect.errors import Policy, RmmdetectError, UnknownTargetError
from rmmdetect.model import Rule
from rmmdetect.registry import backend_classes, get_backend
from rmmdetect.site import Site, Unresolved, resolve

__all__ = ["TargetInfo", "convert", "render", "targets"]


@dataclass(frozen=True)
class TargetInfo:
    """What a registered target offers.

    Attributes:
        name: The target's name.
        description: One line on the platform.
        formats: Each format's name and description.
        default_format: The format used when none is named.
        options: Backend-specific options and what each does.
    """

    name: str
    description: str
    formats: dict[str, str]
    default_format: str
    options: dict[str, str]


def targets() -> dict[str, TargetInfo]:
    """Return every registered target by name.

    Example:
        >>> "kql" in targets()
        True
    """
    return {
        name: TargetInfo(
            name, cls.description, dict(cls.formats), cls.default_format, dict(cls.options)
        )
        for name, cls in backend_classes().items()
    }


def convert(
    rule: Rule,
    target: str,
    format: str | None = None,
    *,
    site: Site | None = None,
    unresolved: Unresolved | str = Unresolved.OMIT,
    unsupported: Policy | str = Policy.RAISE,
    **options: Any,
) -> Rendering:
    """Render a rule for a target and report what could not be rendered exactly.

    Args:
        rule: The rule.
        target: A registered target, e.g. ``kql``.
        format: One of the target's formats; its default when ``None``.
        site: Values for the exclusions' placeholders.
        unresolved: ``omit`` (warn and leave out) or ``fail`` for an exclusion whose
            placeholders have no site value.
        unsupported: ``raise``, ``warn`` or ``collect`` for a part the target cannot express.
        **options: Backend-specific options (see :func:`targets`).

    Returns:
        The text and its notes.

    Raises:
        UnknownTargetError: The target, format or an option is not known.
        PlaceholderError: A placeholder has no value and ``unresolved`` is ``fail``.
        UnsupportedFeatureError: Part of the rule cannot be expressed and the policy is raise.
    """
    backend = get_backend(target)
    chosen = format or backend.default_format
    if chosen not in backend.formats:
        raise UnknownTargetError("format", chosen, backend.formats, owner=f"target '{target}'")
    for option in options:
        if option not in backend.options:
            raise UnknownTargetError("option", option, backend.options, owner=f"target '{target}'")
    try:
        policy = Policy(unsupported)
    except ValueError:
        raise RmmdetectError(
            f"unknown policy '{unsupported}'; allowed: {', '.join(Policy)}"
        ) from None
    resolution = resolve(rule, site, unresolved)
    context = RenderContext(target, resolution.rule, policy, options)
    for exclusion, missing in resolution.omitted:
        message = f"exclusion '{exclusion.name}': no site value for {', '.join(missing)}"
        context.notes.append(Note(NoteKind.OMITTED, message))
    text = backend.render(resolution.rule, chosen, context)
    return Rendering(text, target, chosen, tuple(context.notes))


def render(rule: Rule, target: str, format: str | None = None, **options: Any) -> str:
    """Render a rule for a target and return the text.

    Takes the same arguments as :func:`convert`; use that to see what was approximated.

    Example:
        >>> from rmmdetect import load_catalog
        >>> rule = load_catalog().get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6")
        >>> print(render(rule, "kql").splitlines()[2])
        let Time_start = now(-5d);
    """
    return convert(rule, target, format, **options).text
