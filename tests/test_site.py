"""Site files and the resolution of placeholders."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rmmdetect import PlaceholderError, Rule, RuleFileError, Site, load_site, resolve
from rmmdetect.model import iter_matches, placeholder_name

SHAPE = "a site file is 'placeholders:' mapping lower_snake_case names to quoted text"


@pytest.mark.parametrize(
    ("text", "line", "field", "says"),
    [
        (
            "placeholders:\n  task_id: 7301\n",
            2,
            "placeholders.task_id",
            "expected quoted text, got the number 7301",
        ),
        (
            "placeholders:\n  ips: [10.0.0.1, yes]\n",
            2,
            "placeholders.ips.1",
            "got the YAML boolean true",
        ),
        (
            "placeholders:\n  Bad-Name: x\n",
            2,
            "placeholders.Bad-Name",
            "expected a lower_snake_case name",
        ),
        (
            "placeholder:\n  a: x\n",
            1,
            "placeholder",
            "is not a known key (did you mean 'placeholders'?); allowed: placeholders",
        ),
        ("- a\n", 1, None, "expected a mapping of keys"),
        ("placeholders:\n  a: ''\n", 2, "placeholders.a", "must not be empty"),
        ("", None, None, "exactly one YAML document, not 0"),
        ("placeholders:\n  a: x\n  a: y\n", 3, "placeholders.a", "duplicate key 'a'"),
    ],
    ids=["number", "boolean-in-list", "bad-name", "unknown-key", "list", "empty-value",
         "empty-file", "duplicate-key"],
)  # fmt: skip
def test_bad_site_file(
    tmp_path: Path, text: str, line: int | None, field: str | None, says: str
) -> None:
    path = tmp_path / "site.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_site(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert says in error.problem
    if "duplicate" not in says:
        assert SHAPE in error.problem


def test_the_example_site_fills_every_placeholder(supremo: Rule, supremo_site: Site) -> None:
    resolution = resolve(supremo, supremo_site, "fail")
    assert resolution.omitted == ()
    assert len(resolution.rule.exclusions) == len(supremo.exclusions)
    for exclusion in resolution.rule.exclusions:
        values = [v for m in iter_matches(exclusion.condition) for v in m.values]
        assert not any(placeholder_name(v) for v in values)


def test_a_list_value_becomes_an_any_of(supremo: Rule, supremo_site: Site) -> None:
    rule = resolve(supremo, supremo_site).rule
    siem = rule.exclusions[4]
    assert [m.values for m in iter_matches(siem.condition)][-1] == ("10.20.30.40", "10.20.30.41")


def test_unresolved_fail_names_rule_exclusion_and_placeholder(supremo: Rule) -> None:
    site = Site(placeholders={"legitimate_supremo_msi_hash": "abc"})
    with pytest.raises(PlaceholderError) as caught:
        resolve(supremo, site, "fail")
    assert caught.value.exclusion == supremo.exclusions[1].name
    assert caught.value.names == ("scheduled_task_id",)
    assert supremo.name in str(caught.value)
    assert "{{scheduled_task_id}}" in str(caught.value)


def test_unresolved_omit_warns_and_keeps_the_rest(
    supremo: Rule, caplog: pytest.LogCaptureFixture
) -> None:
    site = Site(placeholders={"legitimate_supremo_msi_hash": "abc"})
    with caplog.at_level(logging.WARNING, logger="rmmdetect"):
        resolution = resolve(supremo, site)
    assert [x.name for x in resolution.rule.exclusions] == [supremo.exclusions[0].name]
    assert [x.name for x, _ in resolution.omitted] == [x.name for x in supremo.exclusions[1:]]
    assert len(caplog.records) == 4
    assert all(r.name == "rmmdetect" and "omitted" in r.getMessage() for r in caplog.records)
