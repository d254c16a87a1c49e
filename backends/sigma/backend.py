"""Render rules as Sigma rules the way SigmaHQ writes them, and site exclusions as Sigma filters.

Ids: a Sigma rule's ``id`` is ``uuid5(SIGMA_NAMESPACE, str(rule.id))`` and a filter's is
``uuid5(SIGMA_NAMESPACE, f"{rule.id}/filter/{slug}")``, where ``slug`` is the filter's name in
the rule. Both stay the same for as long as the rule's id and the exclusion's name do, and
differ from the rule's own id, which the other targets' renderings carry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from rmmdetect_backends.sigma.detection import Compiled, Compiler, NoSigmaFieldError
from rmmdetect_backends.sigma.fields import FILE_PREFIXES, LOGSOURCES

from rmmdetect.attack import TACTICS
from rmmdetect.backend import Backend, Fidelity, RenderContext
from rmmdetect.errors import UnsupportedFeatureError
from rmmdetect.model import DataCategory, Exclusion, Rule
from rmmdetect.yamltext import dump_yaml_all

__all__ = ["SIGMA_NAMESPACE", "SigmaBackend", "file_name", "filter_id", "sigma_id", "title_case"]

SIGMA_NAMESPACE: Final = uuid.UUID("00f04b1f-e36f-4e31-a360-13aa9450e421")
"""The fixed namespace of the uuid5 ids of rendered Sigma rules and filters."""

_SMALL_WORDS: Final = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "new", "of", "on", "or", "over"}
    | {"the", "through", "to", "via", "with", "without"}
)
"""Words a Sigma title keeps in lower case (SigmaHQ's title-case convention)."""

_URL: Final = re.compile(r"https?://\S+")
_FILE_KINDS: Final[dict[DataCategory, str]] = {
    DataCategory.FILE_SIGNATURE: "signature",
    DataCategory.PROCESS: "execution",
    DataCategory.NETWORK: "connection",
}


def sigma_id(rule: Rule) -> uuid.UUID:
    """Return the id of a rule's Sigma rendering."""
    return uuid.uuid5(SIGMA_NAMESPACE, str(rule.id))


def filter_id(rule: Rule, slug: str) -> uuid.UUID:
    """Return the id of the Sigma filter named ``slug`` of a rule."""
    return uuid.uuid5(SIGMA_NAMESPACE, f"{rule.id}/filter/{slug}")


def title_case(text: str) -> str:
    """Capitalise every word of a title but the small ones, as SigmaHQ's titles are.

    Example:
        >>> title_case("Remote Management and Monitoring tool - SupRemo")
        'Remote Management and Monitoring Tool - SupRemo'
    """
    words = text.split(" ")
    for index, word in enumerate(words):
        small = index > 0 and word in _SMALL_WORDS
        if word.islower() and not small and not word[0].isdigit():
            words[index] = word[0].upper() + word[1:]
    return " ".join(words).rstrip(".")


def _slug(text: str, limit: int = 40) -> str:
    """Return ``text`` as lower-case words joined by ``_``, cut after a word within ``limit``."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    kept: list[str] = []
    for word in words:
        if kept and len("_".join([*kept, word])) > limit:
            break
        kept.append(word[:limit])
    return "_".join(kept)


def file_name(rule: Rule) -> str:
    """Return the file name SigmaHQ expects for a rule's Sigma rendering.

    Example:
        >>> from rmmdetect import load_catalog
        >>> file_name(load_catalog().get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6"))
        'image_load_win_supremo_signature.yml'
    """
    category = rule.data.category
    tool = _slug(rule.tool.name) or "rmm"
    return f"{FILE_PREFIXES[category]}{tool}_{_FILE_KINDS[category]}.yml"


def _filter_slugs(exclusions: Sequence[Exclusion]) -> list[str]:
    slugs: list[str] = []
    for exclusion in exclusions:
        base = _slug(exclusion.name) or "exclusion"
        slug, count = base, 1
        while slug in slugs:
            count += 1
            slug = f"{base}_{count}"
        slugs.append(slug)
    return slugs


def _description(rule: Rule) -> tuple[str, list[str]]:
    """Return the description without links (SigmaHQ keeps them in references) and the links."""
    links = _URL.findall(rule.description)
    text = " ".join(_URL.sub(" ", rule.description).split())
    if len(text) < 16:
        text = f"Detects {rule.tool.name}, a remote monitoring and management tool."
    return text, links


def _group(condition: str) -> str:
    return f"({condition})" if " " in condition else condition


def _dump(documents: Sequence[Mapping[str, Any]]) -> str:
    return dump_yaml_all(
        documents, indent=4, indent_sequences=True, explicit_start=len(documents) > 1
    )


class _Rendering:
    """Renders one rule as Sigma documents."""

    def __init__(self, rule: Rule, context: RenderContext, has_regex: bool) -> None:
        self.rule = rule
        self.context = context
        self.compiler = Compiler(rule.data.category, has_regex=has_regex)
        self.logsource = dict(LOGSOURCES[rule.data.category])

    def detection(self) -> Compiled:
        try:
            compiled = self.compiler.compile(self.rule.detection, "selection")
        except NoSigmaFieldError as error:
            # A detection cannot be left partly out: whatever the policy, nothing is rendered.
            raise UnsupportedFeatureError(
                "sigma", self.rule.name, f"the detection ({error})"
            ) from None
        for note in compiled.notes:
            self.context.approximated(note)
        return compiled

    def exclusions(self, prefix: Callable[[str], str]) -> list[tuple[Exclusion, str, Compiled]]:
        """Compile each exclusion; one with a match Sigma cannot express is left out whole."""
        compiled = []
        for exclusion, slug in zip(
            self.rule.exclusions, _filter_slugs(self.rule.exclusions), strict=True
        ):
            try:
                # The rule's condition negates an exclusion: its matches render exactly.
                result = self.compiler.compile(exclusion.condition, prefix(slug), negated=True)
            except NoSigmaFieldError as error:
                self.context.unsupported(f"exclusion '{exclusion.name}' ({error})")
                continue
            for note in result.notes:
                self.context.approximated(
                    f"exclusion '{exclusion.name}': {note}, so it may remove fewer events"
                )
            compiled.append((exclusion, slug, result))
        return compiled

    def platform_notes(self) -> None:
        rule = self.rule
        self.context.approximated(
            f"window {rule.window}: a Sigma rule has no lookback; the platform's search period "
            "applies"
        )
        if rule.aggregation is not None:
            self.context.approximated(
                f"aggregation by {', '.join(rule.aggregation.by)}: a Sigma rule returns the "
                "matching events one by one; summarise them on the platform"
            )

    def rule_document(self, with_exclusions: bool) -> dict[str, Any]:
        rule = self.rule
        self.platform_notes()
        detection = self.detection()
        selections = dict(detection.selections)
        condition = detection.condition
        if with_exclusions:
            filters = self.exclusions(lambda slug: f"filter_{slug}")
            for _, _, compiled in filters:
                selections.update(compiled.selections)
            condition = _rule_condition(condition, [compiled for _, _, compiled in filters])
        description, links = _description(rule)
        document: dict[str, Any] = {
            "title": title_case(rule.name),
            "id": str(sigma_id(rule)),
            "status": rule.status.value,
            "description": description,
            "references": list(dict.fromkeys([*rule.references, *links])),
            "author": rule.author,
            "date": rule.date,
        }
        if rule.modified is not None and rule.modified != rule.date:
            document["modified"] = rule.modified
        if not document["references"]:
            del document["references"]
        document["tags"] = [
            *(f"attack.{TACTICS[tactic].short_name}" for tactic in rule.attack.tactics),
            *(f"attack.{technique.lower()}" for technique in rule.attack.techniques),
        ]
        document["logsource"] = self.logsource
        document["detection"] = {**selections, "condition": condition}
        falsepositives = [_sentence(exclusion.name) for exclusion in rule.exclusions]
        document["falsepositives"] = falsepositives or ["Unknown"]
        document["level"] = rule.severity.value
        return document

    def filter_documents(self) -> list[dict[str, Any]]:
        rule = self.rule
        documents = []
        for exclusion, slug, compiled in self.exclusions(lambda slug: "selection"):
            documents.append(
                {
                    "title": title_case(exclusion.name),
                    "id": str(filter_id(rule, slug)),
                    "status": rule.status.value,
                    "description": " ".join(exclusion.description.split()),
                    "author": rule.author,
                    "date": rule.date,
                    "logsource": self.logsource,
                    "filter": {
                        "rules": [str(sigma_id(rule))],
                        **compiled.selections,
                        "condition": f"not {_group(compiled.condition)}",
                    },
                }
            )
        return documents


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


def _rule_condition(detection: str, filters: Sequence[Compiled]) -> str:
    """Join the detection with its filters: ``selection and not 1 of filter_*`` where it can."""
    if not filters:
        return detection
    head = _group(detection)
    simple = all(len(f.selections) == 1 and f.condition in f.selections for f in filters)
    if simple and len(filters) > 1:
        return f"{head} and not 1 of filter_*"
    return head + "".join(f" and not {_group(f.condition)}" for f in filters)


class SigmaBackend(Backend):
    """Sigma rules (pySigma 2, SigmaHQ conventions) and Sigma filters for site exclusions.

    Data categories map to Windows Sysmon log sources and fields through the tables in
    :mod:`rmmdetect_backends.sigma.fields`. Exclusions become ``filter_*`` selections of the
    rule (format ``rule``) or Sigma filters kept apart from it (format ``filters``); an
    exclusion on a field the log source lacks is left out whole, as the caller's policy says.
    Sigma has no lookback and no summary, so the window and the aggregation are left to the
    platform and noted.
    """

    name: ClassVar[str] = "sigma"
    description: ClassVar[str] = "Sigma rules for Windows Sysmon log sources (SigmaHQ style)"
    formats: ClassVar[dict[str, str]] = {
        "rule": "a Sigma rule whose exclusions are filter_* selections",
        "filters": "the Sigma rule without exclusions, then one Sigma filter per exclusion",
    }
    default_format: ClassVar[str] = "rule"
    suffixes: ClassVar[dict[str, str]] = {"rule": "yml", "filters": "yml"}
    options: ClassVar[dict[str, str]] = {
        "has_regex": "true: render has as an exact |re regular expression instead of |contains",
    }
    fidelity: ClassVar[dict[str, Fidelity]] = {
        "equals": Fidelity.SUPERSET,
        "contains": Fidelity.SUPERSET,
        "startswith": Fidelity.SUPERSET,
        "endswith": Fidelity.SUPERSET,
        "has": Fidelity.SUPERSET,
        "any-of": Fidelity.EXACT,
        "cased": Fidelity.EXACT,
        "window": Fidelity.SUPERSET,
        "aggregation": Fidelity.SUPERSET,
        "exclusions": Fidelity.EXACT,
        "has_regex": Fidelity.EXACT,
    }
    """``has`` renders as ``|contains`` (a superset) unless ``has_regex`` is set. The other
    operators are exact on fields Sigma holds whole, and can be noted supersets on fields it
    holds inside another value: a name held in a path (``process.name``, ``file.name`` and
    ``process.parent.name`` in ``Image``, ``ImageLoaded`` and ``ParentImage``) is exact for
    ``equals`` and ``endswith`` on a value without a backslash and a superset otherwise
    (``|contains`` on the full path also matches a folder's name); a hash in ``Hashes``
    (``Hashes|contains 'SHA1=v'``) is exact for ``startswith`` and for ``equals`` on a whole
    hash, and a superset for ``equals`` on a shorter value. A superset is used only where the
    match counts positively: under a ``not`` or in an exclusion (which the rule negates) every
    match renders exactly (``|re`` on the path's last element; for a hash, only the values
    that are whole hashes, the only ones Sysmon writes), so a rendering is never a silent
    subset; a negated match left with no value is unsupported. A rendering notes each superset
    it uses. The window and the aggregation are the platform's: the rule matches events over
    whatever period the platform searches and returns them one by one (noted on every
    rendering)."""

    _FORMATS: ClassVar[dict[str, Callable[[_Rendering], list[dict[str, Any]]]]] = {
        "rule": lambda rendering: [rendering.rule_document(with_exclusions=True)],
        "filters": lambda rendering: [
            rendering.rule_document(with_exclusions=False),
            *rendering.filter_documents(),
        ],
    }

    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        """Render a rule as a Sigma rule, or as a Sigma rule followed by its Sigma filters."""
        has_regex = context.flag("has_regex")
        documents = self._FORMATS[format](_Rendering(rule, context, has_regex))
        return _dump(documents)

    def file_name(self, rule: Rule, format: str) -> str:
        """Return the file name SigmaHQ expects, e.g. ``image_load_win_supremo_signature.yml``."""
        return file_name(rule)

    def join(self, texts: Sequence[str], format: str) -> str:
        """Join renderings as one YAML stream, documents separated by ``---``."""
        return "".join(text if text.startswith("---") else f"---\n{text}" for text in texts)
