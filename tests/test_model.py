"""The rule model on its own: shapes, validators and helpers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from rmmdetect import Rule, load_rule
from rmmdetect.model import (
    AggregateFunction,
    Aggregation,
    AllOf,
    AnyOf,
    Exclusion,
    Match,
    Not,
    Operator,
    Output,
    iter_matches,
    placeholder_name,
)
from test_loader import BASE


def rule_data(supremo: Rule, **changes: Any) -> dict[str, Any]:
    return {**supremo.model_dump(mode="json", by_alias=True), **changes}


def test_value_is_one_of_values() -> None:
    one = Match.model_validate({"field": "process.name", "op": "equals", "value": "a.exe"})
    assert one.values == ("a.exe",)
    assert one == Match(field="process.name", op=Operator.EQUALS, values=("a.exe",))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"value": "a", "values": ["b"]}, "give either 'value' or 'values', not both"),
        ({"values": []}, "at least 1 item"),
        ({"value": ""}, "at least 1 character"),
        ({"value": "a", "field": "process.nam"}, "did you mean 'process.name'"),
        ({"value": "a", "op": "matches"}, "'equals', 'contains', 'startswith', 'endswith'"),
        ({"value": "a", "cased": "yes"}, "valid boolean"),
        ({"value": "{{ a }}x"}, "a placeholder must be the whole value"),
    ],
    ids=["value-and-values", "no-values", "empty-value", "field", "op", "cased-text", "partial"],
)
def test_bad_match(data: dict[str, Any], says: str) -> None:
    full = {"field": "process.name", "op": "equals", **data}
    with pytest.raises(ValidationError, match=says):
        Match.model_validate(full)


def test_conditions_nest_by_key() -> None:
    leaf = {"field": "process.name", "op": "equals", "value": "a"}
    data = {"all": [leaf, {"any": [leaf, {"not": leaf}]}]}
    condition = Exclusion.model_validate(
        {"name": "n", "description": "d", "condition": data}
    ).condition
    assert isinstance(condition, AllOf)
    assert isinstance(condition.all[1], AnyOf)
    assert isinstance(condition.all[1].any[1], Not)
    assert len(list(iter_matches(condition))) == 3


def test_a_condition_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError, match=r"a condition is a mapping: \{field, op"):
        Exclusion.model_validate({"name": "n", "description": "d", "condition": ["a"]})


@pytest.mark.parametrize(
    ("value", "name"),
    [("{{site_hash}}", "site_hash"), ("{{ site_hash }}", "site_hash"), ("site_hash", None),
     ("{{Site}}", None), ("x{{a}}", None)],
)  # fmt: skip
def test_placeholder_name(value: str, name: str | None) -> None:
    assert placeholder_name(value) == name


def test_exclusion_placeholders_in_order_without_repeats() -> None:
    exclusion = Exclusion.model_validate(
        {
            "name": "n",
            "description": "d",
            "condition": {
                "any": [
                    {"field": "process.name", "op": "equals", "values": ["{{b}}", "x", "{{a}}"]},
                    {"not": {"field": "destination.ip", "op": "equals", "value": "{{b}}"}},
                ]
            },
        }
    )
    assert exclusion.placeholders() == ("b", "a")


@pytest.mark.parametrize(
    ("function", "field", "says"),
    [
        ("count", "event.id", "function 'count' takes no field"),
        ("min", None, "function 'min' needs a field"),
        ("max", "event.idd", "did you mean 'event.id'"),
    ],
)
def test_bad_output(function: str, field: str | None, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Output.model_validate({"name": "X", "function": function, "field": field})


def test_output_names_are_unique() -> None:
    count = {"name": "Count", "function": "count"}
    with pytest.raises(ValidationError, match="output names must be unique; repeated: Count"):
        Aggregation.model_validate({"by": ["host.id"], "outputs": [count, count]})
    assert AggregateFunction("values") is AggregateFunction.VALUES


@pytest.mark.parametrize(
    ("window", "lookback"),
    [("5d", timedelta(days=5)), ("90m", timedelta(minutes=90)), ("12h", timedelta(hours=12))],
)
def test_lookback(supremo: Rule, window: str, lookback: timedelta) -> None:
    assert Rule.model_validate(rule_data(supremo, window=window)).lookback == lookback


@pytest.mark.parametrize("window", ["5x", "0d", "5", "d", "-1d", "1.5h", "05d", " 5d"])
def test_bad_window(supremo: Rule, window: str) -> None:
    with pytest.raises(ValidationError, match="is not a duration"):
        Rule.model_validate(rule_data(supremo, window=window))


def test_models_are_frozen(supremo: Rule) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        supremo.window = "1d"  # type: ignore[misc]


def test_the_seed_round_trips_through_its_json_form(supremo: Rule) -> None:
    assert Rule.model_validate(rule_data(supremo)) == supremo


def test_the_test_base_rule_is_a_valid_rule(tmp_path: Path) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(BASE, encoding="utf-8")
    rule = load_rule(path)
    assert [x.placeholders() for x in rule.exclusions] == [("update_hash",), ("siem_server_ip",)]
