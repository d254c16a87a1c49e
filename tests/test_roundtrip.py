"""Round trips: rule -> each target's backend -> the matching importer -> the same rule.

"The same" is checked field by field. Each field an importer CARRIES comes back equal, up to
the mappings the backends document, each named here:

* Conditions are compared by meaning: both trees are put in disjunctive normal form over
  single-value atoms (an uncased value in lower case), which is what the backends preserve
  (the Sigma backend distributes ands over ors; every backend may split or merge any-of lists
  and one-child groups).
* A field comes back as the field the importer reads from the column the backend wrote it to
  (its "twin"): ``file.name`` in a process start is ``process.name``.
* Sigma writes a name in title case, moves links from the description to the references and
  derives its id from the rule's (``uuid5``); a name held in a path (``Image``) is exact for
  equals only, other operators read back as the documented superset on the path.
* EQL writes the name into a comment (flattened to one line).

Each field an importer DROPS comes back as the import options' value, whatever the rule had.
Targets render with their exact options (``has_regex`` for Sigma and EQL).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rmmdetect_backends.eql.events import EVENTS
from rmmdetect_backends.eql.literals import comment as eql_comment
from rmmdetect_backends.kql.schema import COLUMNS as KQL_COLUMNS
from rmmdetect_backends.kql.schema import TABLES
from rmmdetect_backends.sigma.backend import _description, sigma_id, title_case
from rmmdetect_backends.sigma.fields import FIELDS as SIGMA_FIELDS
from rmmdetect_backends.sigma.fields import Kind

import rmmdetect
from rmmdetect import Catalog, Rule
from rmmdetect.errors import UnsupportedFeatureError
from rmmdetect.importers import IMPORTERS, ImportOptions, import_text
from rmmdetect.importers import elastic as eql_importer
from rmmdetect.importers.defender import COLUMNS as DEFENDER_COLUMNS
from rmmdetect.importers.sigma_fields import FIELDS as SIGMA_IMPORT_FIELDS
from rmmdetect.model import (
    AllOf,
    Condition,
    Connector,
    DataCategory,
    DataRequirement,
    Match,
    Not,
    Operator,
    iter_matches,
)
from rmmdetect.taxonomy import FIELDS
from strategies import rules, texts

OPTIONS = ImportOptions()
_WORD = re.compile("[A-Za-z0-9]")
Atom = tuple[bool, str, str, str, bool]
Twin = Callable[[Match], list[Match]]

# Meaning: disjunctive normal form over single-value atoms.


def _atoms(match: Match, twin: Twin) -> list[Atom]:
    atoms = []
    for mapped in twin(match):
        for value in mapped.values:
            cased = mapped.cased and FIELDS[mapped.field].type != "ip"
            op = mapped.op
            if op is Operator.HAS and not (_WORD.match(value[0]) or _WORD.match(value[-1])):
                op = Operator.CONTAINS  # A term with no letter or digit at either edge.
            atoms.append((True, mapped.field, op.value, value if cased else value.lower(), cased))
    return atoms


def dnf(node: Condition, twin: Twin, positive: bool = True) -> frozenset[frozenset[Atom]]:
    if isinstance(node, Not):
        return dnf(node.not_, twin, not positive)
    if isinstance(node, Match):
        atoms = [(positive, *atom[1:]) for atom in _atoms(node, twin)]
        if positive:
            return frozenset(frozenset([atom]) for atom in atoms)
        return frozenset([frozenset(atoms)])
    children = node.all if isinstance(node, AllOf) else node.any
    conjunction = isinstance(node, AllOf) == positive
    parts = [dnf(child, twin, positive) for child in children]
    if not conjunction:
        return frozenset(term for part in parts for term in part)
    product: frozenset[frozenset[Atom]] = frozenset([frozenset()])
    for part in parts:
        product = frozenset(left | right for left in product for right in part)
    return product


def same_meaning(original: Condition, imported: Condition, twin: Twin) -> bool:
    return dnf(original, twin) == dnf(imported, lambda m: [m])


def _names(rule: Rule) -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,30}[A-Za-z0-9]", fullmatch=True)


# Each target: how a rule renders, which fields come back as which, and how the carried
# metadata is mapped.


def kql_twin(category: DataCategory) -> Twin:
    table = TABLES[category]
    return lambda m: [
        m.model_copy(update={"field": DEFENDER_COLUMNS[table][KQL_COLUMNS[table][m.field]]})
    ]


def sigma_twin(category: DataCategory) -> Twin:
    backend = SIGMA_FIELDS[category]
    readers = SIGMA_IMPORT_FIELDS[category]

    def twin(match: Match) -> list[Match]:
        place = backend[match.field]
        reader = readers[place.name]
        if place.kind is Kind.HASH:
            return [match.model_copy(update={"field": dict(reader.hashes)[place.algorithm or ""]})]
        if place.kind is Kind.VALUE:
            return [match.model_copy(update={"field": reader.field})]
        # A name held in a path: exact for equals; otherwise the documented superset.
        out = []
        for value in match.values:
            if match.op is Operator.EQUALS and "\\" not in value:
                field, op, text = reader.name_field, Operator.EQUALS, value
            elif match.op is Operator.ENDSWITH and re.fullmatch(r"\\[^\\]+", value):
                field, op, text = reader.name_field, Operator.EQUALS, value[1:]
            else:
                op = {
                    Operator.EQUALS: Operator.ENDSWITH,
                    Operator.ENDSWITH: Operator.ENDSWITH,
                    Operator.STARTSWITH: Operator.CONTAINS,
                }.get(match.op, Operator.CONTAINS)
                prefix = "\\" if match.op in (Operator.EQUALS, Operator.STARTSWITH) else ""
                field, text = reader.field, prefix + value
            out.append(Match(field=field, op=op, values=(text,), cased=match.cased))
        return out

    return twin


def eql_kind(rule: Rule) -> str:
    fields = {m.field for m in iter_matches(rule.detection)}
    kind = next(k for k in EVENTS[rule.data.category] if fields <= k.fields.keys())
    if rule.data.category is DataCategory.NETWORK:
        return "dns" if 'network.protocol == "dns"' in kind.selection else "connection"
    signer = "process.code_signature.subject_name"
    return "signer" if any(kind.fields.get(f) == signer for f in fields) else "process"


def eql_twin(rule: Rule) -> Twin:
    fields = next(
        k.fields
        for k in EVENTS[rule.data.category]
        if {m.field for m in iter_matches(rule.detection)} <= k.fields.keys()
    )
    readers = eql_importer.FIELDS[eql_kind(rule)]
    return lambda m: [m.model_copy(update={"field": readers[fields[m.field]]})]


def sentinel_data(rule: Rule) -> DataRequirement:
    if rule.data.connectors:
        return rule.data
    table = TABLES[rule.data.category]
    connector = Connector(id="MicrosoftThreatProtection", data_types=(table,))
    return rule.data.model_copy(update={"connectors": (connector,)})


def sentinel_aggregation(rule: Rule) -> Any:
    if rule.aggregation is None:
        return None
    table = TABLES[rule.data.category]

    def field(name: str) -> str:
        return DEFENDER_COLUMNS[table][KQL_COLUMNS[table][name]]

    return rule.aggregation.model_copy(
        update={
            "by": tuple(field(f) for f in rule.aggregation.by),
            "outputs": tuple(
                o.model_copy(update={"field": field(o.field) if o.field else None})
                for o in rule.aggregation.outputs
            ),
        }
    )


def _sigma_references(rule: Rule) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*rule.references, *_description(rule)[1]]))


EXPECTED: dict[str, dict[str, Callable[[Rule], Any]]] = {
    "sentinel": {
        "data": sentinel_data,
        "aggregation": sentinel_aggregation,
    },
    "sigma": {
        "id": sigma_id,
        "name": lambda r: title_case(r.name),
        "description": lambda r: _description(r)[0],
        "references": _sigma_references,
        "modified": lambda r: None if r.modified == r.date else r.modified,
    },
    "eql": {
        "name": lambda r: eql_comment(r.name).strip(),
        "data": lambda r: DataRequirement(category=r.data.category),
    },
}
"""The documented mapping of each carried field, where it is not the identity."""

TWINS: dict[str, Callable[[Rule], Twin]] = {
    "sentinel": lambda r: kql_twin(r.data.category),
    "sigma": lambda r: sigma_twin(r.data.category),
    "eql": eql_twin,
}

RENDER: dict[str, tuple[str, str, dict[str, Any]]] = {
    "sentinel": ("kql", "sentinel-hunting", {}),
    "sigma": ("sigma", "rule", {"has_regex": True}),
    "eql": ("eql", "query", {"has_regex": True}),
}


def round_trip(fmt: str, rule: Rule) -> None:
    target, target_format, options = RENDER[fmt]
    if fmt == "sentinel":
        rule = rule.model_copy(update={"exclusions": ()})  # dropped: not written back
    rendered = rmmdetect.convert(rule, target, target_format, unsupported="collect", **options)
    resolved = rmmdetect.resolve(rule).rule
    imported = import_text(fmt, rendered.text, f"rule.{fmt}", OPTIONS)
    importer = IMPORTERS[fmt]
    twin = TWINS[fmt](rule)
    defaults = OPTIONS.defaults()
    for name in importer.carries:
        if name == "detection":
            assert same_meaning(rule.detection, imported.detection, twin)
        elif name == "exclusions":
            _check_exclusions(fmt, resolved, imported, twin)
        else:
            expected = EXPECTED[fmt].get(name, lambda r, n=name: getattr(r, n))(rule)
            assert getattr(imported, name) == expected, name
    for name in importer.drops:
        if name in defaults:
            expected = Rule.model_validate(
                {**imported.model_dump(by_alias=True), name: defaults[name]}
            )
            assert getattr(imported, name) == getattr(expected, name), name


def _check_exclusions(fmt: str, resolved: Rule, imported: Rule, twin: Twin) -> None:
    originals = {e.name.lower(): e for e in resolved.exclusions}
    for exclusion in imported.exclusions:
        original = originals[exclusion.name.lower()]
        assert same_meaning(original.condition, exclusion.condition, twin), exclusion.name
        assert exclusion.description == exclusion.name


@pytest.mark.parametrize("fmt", sorted(RENDER))
def test_catalog_round_trips(fmt: str, catalog: Catalog) -> None:
    done = 0
    for rule in catalog:
        try:
            round_trip(fmt, rule)
        except UnsupportedFeatureError:
            continue  # The target cannot write this detection: nothing to read back.
        done += 1
    assert done >= len(catalog) // 2


def test_round_trip_with_site_exclusions(supremo: Rule, supremo_site: rmmdetect.Site) -> None:
    rule = rmmdetect.resolve(supremo, supremo_site).rule
    for fmt in ("sigma", "eql"):
        round_trip(fmt, rule)


# Hypothesis: arbitrary rules restricted to what each target carries exactly.

_SENTINEL_FIELDS = {
    category: sorted(set(DEFENDER_COLUMNS[TABLES[category]].values()) - {"@timestamp"})
    for category in DataCategory
}
_SIGMA_FIELDS = {
    category: sorted(
        place.field
        for place in SIGMA_IMPORT_FIELDS[category].values()
        if place.field and not place.name_field
    )
    for category in DataCategory
}
_EQL_FIELDS = {
    # A process query on the signer reads back as a signer (file_signature) query.
    DataCategory.PROCESS: sorted(
        set(eql_importer.FIELDS["process"]) - {"@timestamp", "process.code_signature.subject_name"}
    ),
    DataCategory.NETWORK: sorted(set(eql_importer.FIELDS["dns"].values()) - {"@timestamp"}),
}


_METADATA: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "sentinel": {"description": texts(max_size=80)},
}


def _restricted(fields: dict[DataCategory, list[str]], fmt: str) -> st.SearchStrategy[Rule]:
    def for_category(category: DataCategory) -> st.SearchStrategy[Rule]:
        table = TABLES[category]
        data = DataRequirement(
            category=category,
            connectors=(Connector(id="MicrosoftThreatProtection", data_types=(table,)),),
        )
        return rules(
            fields=fields[category],
            categories=[category],
            exclusions=False,
            max_values=2,
            aggregation=None if fmt == "sentinel" else False,
            metadata={"data": st.just(data), "name": _names(Rule), **_METADATA.get(fmt, {})},
        )

    return st.sampled_from(sorted(fields)).flatmap(for_category)


@given(_restricted(_SENTINEL_FIELDS, "sentinel"))
def test_generated_rules_round_trip_through_sentinel(rule: Rule) -> None:
    round_trip("sentinel", rule)


@given(_restricted(_SIGMA_FIELDS, "sigma"))
def test_generated_rules_round_trip_through_sigma(rule: Rule) -> None:
    round_trip("sigma", rule)


@given(_restricted(_EQL_FIELDS, "eql"))
def test_generated_rules_round_trip_through_eql(rule: Rule) -> None:
    round_trip("eql", rule)


def test_dropped_fields_really_differ(supremo: Rule) -> None:
    # Each importer's DROPS are exactly what the catalog's SupRemo rule loses on the way.
    for fmt in RENDER:
        target, target_format, options = RENDER[fmt]
        text = rmmdetect.render(supremo, target, target_format, unsupported="collect", **options)
        imported = import_text(fmt, text, "x", OPTIONS)
        lost = {f for f in IMPORTERS[fmt].drops if getattr(imported, f) != getattr(supremo, f)}
        assert lost, fmt
        assert lost <= set(IMPORTERS[fmt].drops)


def test_uuid_of_a_header_less_query_is_stable() -> None:
    text = 'process where process.name : "x.exe"'
    first = import_text("eql", text, "x.eql").id
    assert first == import_text("eql", text, "y.eql").id
    assert isinstance(first, uuid.UUID)
