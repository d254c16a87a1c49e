"""The dumper writes YAML that the loader reads back to an equal rule."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given

import rmmdetect
from rmmdetect import Catalog, Rule
from rmmdetect.dumper import dump_rule, dump_rules
from strategies import rules


def _reload(text: str, tmp_path: Path) -> tuple[Rule, ...]:
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    return rmmdetect.load_rules(path)


def test_catalog_round_trips(catalog: Catalog, tmp_path: Path) -> None:
    assert _reload(dump_rules(catalog), tmp_path) == tuple(catalog)


def test_single_value_and_dates(supremo: Rule) -> None:
    text = dump_rule(supremo)
    document = yaml.safe_load(text)
    assert document["detection"] == {
        "field": "file.code_signature.subject_name",
        "op": "has",
        "value": "Nanosystems S.R.L.",
    }
    assert "\ndate: 2026-12-03\n" in text
    assert "description: |\n" in text
    assert list(document) == [k for k in type(supremo).model_fields if k in document]


def test_any_of_uses_values(supremo: Rule) -> None:
    rule = supremo.model_copy(
        update={"detection": supremo.detection.model_copy(update={"values": ("a", "b")})}
    )
    assert yaml.safe_load(dump_rule(rule))["detection"]["values"] == ["a", "b"]


def test_not_is_written_by_alias(supremo: Rule, tmp_path: Path) -> None:
    rule = supremo.model_validate(
        {**supremo.model_dump(by_alias=True), "detection": {"not": supremo.detection}}
    )
    text = dump_rule(rule)
    assert "detection:\n  not:\n" in text
    assert _reload(text, tmp_path) == (rule,)


@given(rules())
def test_arbitrary_rules_round_trip(rule: Rule) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        assert _reload(dump_rule(rule), Path(folder)) == (rule,)
