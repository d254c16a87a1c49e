"""Render rules as Splunk SPL over Sysmon: a search, a savedsearches.conf stanza or an ESCU file.

SPL has no offline parser or engine (Splunk is a container image; splparser is Python 2 only),
so this backend's guarantees are golden files, a small closed set of constructs and the exact
escaping of :mod:`rmmdetect_backends.spl.quoting`, which is unit- and property-tested. The
ESCU format is additionally validated by Splunk's ``contentctl`` in the tests.

The search reads one Sysmon event code per data category
(:mod:`rmmdetect_backends.spl.fields`); the window is the search's own time range
(``earliest=-5d latest=now``), so it holds however the search is dispatched. Exclusions render
as ``| search NOT (...)`` (or ``| where NOT (...)`` where search terms cannot be exact); in the
ESCU format they are the definition of the detection's ``_filter`` macro instead, where
security_content keeps each site's tuning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from rmmdetect_backends.spl.conditions import ConditionRenderer
from rmmdetect_backends.spl.escu import detection_yaml
from rmmdetect_backends.spl.fields import SOURCE, SOURCES
from rmmdetect_backends.spl.quoting import comment, quote
from rmmdetect_backends.spl.savedsearch import savedsearch_stanza

from rmmdetect.backend import Backend, Fidelity, RenderContext
from rmmdetect.errors import RmmdetectError, UnsupportedFeatureError
from rmmdetect.model import AggregateFunction, Condition, Match, Operator, Rule, iter_matches

__all__ = ["SplBackend", "SplSearch"]

_AGGREGATES: Final[dict[AggregateFunction, str]] = {
    AggregateFunction.MIN: "min({})",
    AggregateFunction.MAX: "max({})",
    AggregateFunction.VALUES: "values({})",
    AggregateFunction.COUNT: "count",
}

_RESERVED: Final = frozenset({"and", "as", "by", "in", "like", "not", "or", "over", "xor"})
"""Words that an unquoted ``as`` name would collide with."""


@dataclass(frozen=True)
class Exclusion:
    """One rendered exclusion.

    Attributes:
        name: The scenario's name.
        command: The SPL command without its pipe, e.g. ``search NOT (...)``.
    """

    name: str
    command: str


@dataclass(frozen=True)
class SplSearch:
    """The pieces of a rendered search, which each format assembles its own way.

    Attributes:
        rule: The rule.
        filters: The event selection after the data source, e.g. ``EventCode=7 earliest=...``.
        pipes: Commands that finish the detection (``| where ...``, ``| regex ...``).
        exclusions: The rendered exclusions.
        stats: The aggregation (``| stats ... by host``), or empty.
        times: The output columns holding ``_time`` values, to make readable.
        index: The ``index`` term the caller asked for, or empty.
        data_source: The security_content data source, e.g. ``Sysmon EventID 7``.
    """

    rule: Rule
    filters: str
    pipes: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]
    stats: tuple[str, ...]
    times: tuple[str, ...]
    index: str = ""
    data_source: str = ""

    def query(self) -> str:
        """Return the standalone search over the Sysmon source, exclusions inline."""
        lines = [f"{self.index}source={quote(SOURCE)} {self.filters}", *self.pipes]
        for exclusion in self.exclusions:
            lines += [comment(f"Exclusion: {exclusion.name}"), f"| {exclusion.command}"]
        lines += self.stats
        if self.times:
            ctimes = " ".join(f"ctime({name})" for name in self.times)
            lines.append(f'| convert timeformat="%Y-%m-%dT%H:%M:%S" {ctimes}')
        return "\n".join(lines)


def _index(value: Any) -> str:
    text = str(value)
    if not text or any(ord(char) < 0x20 for char in text):
        raise RmmdetectError(f"option index={value!r}: give a Splunk index name, e.g. main")
    return f"index={quote(text)} "


def _output_name(name: str) -> str:
    return quote(name) if name.lower() in _RESERVED else name


class _Builder:
    """Renders one rule's detection, exclusions and aggregation."""

    def __init__(self, rule: Rule, context: RenderContext) -> None:
        self.rule = rule
        self.context = context
        self.source = SOURCES[rule.data.category]
        options = context.options
        self.conditions = ConditionRenderer(self.source.fields, context.flag("has_regex"))
        self.index = _index(options["index"]) if "index" in options else ""

    def note_supersets(self, node: Condition, where: str) -> None:
        for match in self.conditions.supersets(node):
            self.context.approximated(
                f"has on {match.field} renders as a wildcard *value* search (contains), a "
                f"superset of whole-term matching, {where}; the has_regex option makes it exact"
            )

    def detection(self) -> tuple[str, tuple[str, ...]]:
        node = self.rule.detection
        if not self.conditions.fits(node):
            missing = sorted({m.field for m in iter_matches(node)} - set(self.source.fields))
            raise UnsupportedFeatureError(
                "spl",
                self.rule.name,
                f"detection field(s) {', '.join(missing)} in {self.source.describe()}",
            )
        if self.conditions.searchable(node):
            self.note_supersets(node, "in the detection")
            return self.conditions.search(node), ()
        if isinstance(node, Match) and node.op is Operator.HAS:
            prefilter = self.conditions.prefilter(node)
            return prefilter or "", (self.conditions.regex_command(node),)
        return "", (f"| where {self.conditions.where(node)}",)

    def exclusions(self) -> tuple[Exclusion, ...]:
        rendered: list[Exclusion] = []
        for exclusion in self.rule.exclusions:
            node = exclusion.condition
            if not self.conditions.fits(node):
                missing = sorted({m.field for m in iter_matches(node)} - set(self.source.fields))
                self.context.unsupported(
                    f"exclusion '{exclusion.name}' (no {self.source.describe()} field for "
                    f"{', '.join(missing)})"
                )
                continue
            if self.conditions.searchable(node):
                self.note_supersets(
                    node, f"in exclusion '{exclusion.name}', which may remove more than meant"
                )
                command = f"search NOT {self.conditions.search(node)}"
            else:
                command = f"where NOT {self.conditions.where(node)}"
            rendered.append(Exclusion(exclusion.name, command))
        return tuple(rendered)

    def splunk_field(self, name: str, purpose: str) -> str:
        column = self.source.fields.get(name)
        if column is None:
            raise UnsupportedFeatureError(
                "spl", self.rule.name, f"{purpose} field '{name}' in {self.source.describe()}"
            )
        return column

    def stats(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        aggregation = self.rule.aggregation
        if aggregation is None:
            return (), ()
        outputs: list[str] = []
        times: list[str] = []
        for output in aggregation.outputs:
            column = self.splunk_field(output.field, "aggregation") if output.field else ""
            function = _AGGREGATES[output.function].format(column)
            outputs.append(f"{function} as {_output_name(output.name)}")
            if column == "_time" and output.function is not AggregateFunction.VALUES:
                times.append(_output_name(output.name))
        by = dict.fromkeys(self.splunk_field(name, "grouping") for name in aggregation.by)
        return (f"| stats {' '.join(outputs)} by {' '.join(by)}",), tuple(times)

    def build(self) -> SplSearch:
        terms, pipes = self.detection()
        filters = f"EventCode={self.source.event_code} earliest=-{self.rule.window} latest=now"
        stats, times = self.stats()
        return SplSearch(
            rule=self.rule,
            filters=f"{filters} {terms}".rstrip(),
            pipes=pipes,
            exclusions=self.exclusions(),
            stats=stats,
            times=times,
            index=self.index,
            data_source=self.source.data_source,
        )


def _query(search: SplSearch) -> str:
    header = comment(f"{search.rule.name} (rmmdetect rule {search.rule.id})")
    return f"{header}\n{search.query()}\n"


class SplBackend(Backend):
    """Splunk SPL over Sysmon events, as Splunk's own detection engineers write it.

    Formats: a standalone search; a ``savedsearches.conf`` stanza scheduled like contentctl's
    hunting searches; and a security_content (ESCU) detection YAML file followed by its
    ``_filter`` macro, which holds the site's exclusions.
    """

    name: ClassVar[str] = "spl"
    description: ClassVar[str] = "Splunk Enterprise / Enterprise Security over Sysmon events"
    formats: ClassVar[dict[str, str]] = {
        "query": "a standalone SPL search over the Sysmon source",
        "savedsearch": "a savedsearches.conf stanza, scheduled, exclusions inline",
        "escu": "a security_content detection YAML and its _filter macro (two YAML documents)",
    }
    default_format: ClassVar[str] = "query"
    suffixes: ClassVar[dict[str, str]] = {"query": "spl", "savedsearch": "conf", "escu": "yml"}
    options: ClassVar[dict[str, str]] = {
        "has_regex": "true: render has exactly with | regex / match() instead of *value*",
        "index": "restrict the search to this Splunk index (wildcards allowed)",
    }
    fidelity: ClassVar[dict[str, Fidelity]] = {
        "equals": Fidelity.EXACT,
        "contains": Fidelity.EXACT,
        "startswith": Fidelity.EXACT,
        "endswith": Fidelity.EXACT,
        "has": Fidelity.SUPERSET,
        "any-of": Fidelity.EXACT,
        "cased": Fidelity.EXACT,
        "window": Fidelity.EXACT,
        "aggregation": Fidelity.EXACT,
        "exclusions": Fidelity.EXACT,
        "has_regex": Fidelity.EXACT,
        "index": Fidelity.EXACT,
    }

    _FORMATS: ClassVar[dict[str, Callable[[SplSearch], str]]] = {
        "query": _query,
        "savedsearch": savedsearch_stanza,
        "escu": detection_yaml,
    }

    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        """Render a rule as an SPL search, a savedsearches.conf stanza or an ESCU file."""
        return self._FORMATS[format](_Builder(rule, context).build())

    def join(self, texts: Sequence[str], format: str) -> str:
        """Join renderings: ESCU files as one YAML stream, the others by a blank line."""
        return ("---\n" if format == "escu" else "\n").join(texts)
