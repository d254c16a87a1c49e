"""Malformed rule files: each error names the file, the line, the field and what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rmmdetect import CatalogError, RuleFileError, load_catalog, load_rule, load_rules

BASE = """\
id: 0b4d4c5e-3f0a-4d7e-9d38-0c6f3f7f2a11
name: Example rule
description: An example.
author: tests
date: 2026-12-03
status: test
severity: medium
attack:
  tactics: [CommandAndControl]
  techniques: [T1219]
tool:
  name: SupRemo
  vendor: Nanosystems S.R.L.
data:
  category: file_signature
detection:
  field: file.code_signature.subject_name
  op: has
  value: Nanosystems S.R.L.
window: 5d
aggregation:
  by: [host.id, host.name]
  outputs:
    - {name: Count, function: count}
exclusions:
  - name: Deployment
    description: Software deployment.
    condition:
      all:
        - {field: process.name, op: equals, value: sremo.exe}
        - {field: file.hash.sha1, op: equals, value: "{{update_hash}}"}
  - name: Log collection
    description: Sends logs to the SIEM.
    condition:
      field: destination.ip
      op: equals
      value: "{{siem_server_ip}}"
"""


@dataclass(frozen=True)
class Bad:
    """A mutation of BASE and the error it must produce."""

    id: str
    old: str
    new: str
    field: str | None
    at: str
    """Text on the expected line of the mutated file (a missing key: the document's first)."""
    says: tuple[str, ...]
    """Fragments the message must contain: what is wrong and what is allowed."""


BAD = [
    Bad("yaml-tab-indent", "  name: SupRemo", "\tname: SupRemo", None, "\tname", ("tabs",)),
    Bad(
        "yaml-unclosed-quote",
        "  value: Nanosystems S.R.L.",
        "  value: 'Nanosystems S.R.L.",
        None,
        "'Nanosystems",
        ("quote", "never closed"),
    ),
    Bad(
        "yaml-misindented-key",
        "  vendor: Nanosystems",
        "   vendor: Nanosystems",
        None,
        "   vendor",
        ("not valid YAML", "indentation"),
    ),
    Bad(
        "yaml-dedented-key",
        "  techniques: [T1219]",
        " techniques: [T1219]",
        None,
        " techniques",
        ("not valid YAML", "indentation"),
    ),
    Bad(
        "duplicate-key",
        "window: 5d",
        "window: 5d\nwindow: 6d",
        "window",
        "window: 6d",
        ("duplicate key 'window'", "first given on line 20"),
    ),
    Bad(
        "unknown-key-top",
        "window: 5d",
        "window: 5d\nwindows: 6d",
        "windows",
        "windows:",
        ("is not a known key", "did you mean 'window'", "allowed: aggregation, attack"),
    ),
    Bad(
        "unknown-key-match",
        "  op: has\n",
        "  op: has\n  regex: x\n",
        "detection.regex",
        "regex:",
        ("is not a known key", "allowed: cased, field, op, value, values"),
    ),
    Bad(
        "unknown-key-exclusion",
        "    description: Software deployment.",
        "    description: Software deployment.\n    severity: low",
        "exclusions.0.severity",
        "severity: low",
        ("is not a known key", "allowed: condition, description, name"),
    ),
    Bad(
        "unknown-key-nested-match",
        "{field: process.name, op: equals, value: sremo.exe}",
        "{field: process.name, op: equals, value: sremo.exe, regex: x}",
        "exclusions.0.condition.all.0.regex",
        "regex: x",
        ("is not a known key", "allowed: cased, field, op, value, values"),
    ),
    Bad(
        "unknown-key-aggregation",
        "  by: [host.id, host.name]",
        "  by: [host.id, host.name]\n  sort: asc",
        "aggregation.sort",
        "sort: asc",
        ("is not a known key", "allowed: by, outputs"),
    ),
    Bad(
        "number-for-text",
        "name: Example rule",
        "name: 42",
        "name",
        "name: 42",
        ("expected quoted text", "got the number 42"),
    ),
    Bad(
        "yes-for-text",
        "  value: Nanosystems S.R.L.",
        "  value: yes",
        "detection.value",
        "value: yes",
        ("expected quoted text", "YAML boolean true", "unless quoted"),
    ),
    Bad(
        "list-for-value",
        "  value: Nanosystems S.R.L.",
        "  value: [a, b]",
        "detection.value",
        "value: [a, b]",
        ("expected quoted text, got a list", "write several values as 'values: [a, b]'"),
    ),
    Bad(
        "list-inside-values",
        "  value: Nanosystems S.R.L.",
        "  values:\n    - a\n    - [b]",
        "detection.values.1",
        "- [b]",
        ("expected quoted text, got a list",),
    ),
    Bad(
        "list-for-mapping",
        "tool:\n  name: SupRemo\n  vendor: Nanosystems S.R.L.",
        "tool: [SupRemo]",
        "tool",
        "tool: [SupRemo]",
        ("expected a mapping of keys", "got a list"),
    ),
    Bad(
        "text-for-flag",
        "  op: has\n",
        "  op: has\n  cased: maybe\n",
        "detection.cased",
        "cased: maybe",
        ("expected true or false", "got the text 'maybe'"),
    ),
    Bad(
        "unknown-enum",
        "status: test",
        "status: tested",
        "status",
        "status: tested",
        ("got the text 'tested'", "did you mean 'test'", "allowed: experimental, test, stable"),
    ),
    Bad(
        "missing-key",
        "author: tests\n",
        "",
        "author",
        "id:",
        ("is required",),
    ),
    Bad(
        "technique-short",
        "[T1219]",
        "[T12]",
        "attack.techniques",
        "techniques:",
        ("'T12' is not an ATT&CK technique id", "T followed by four digits"),
    ),
    Bad(
        "technique-lowercase",
        "[T1219]",
        "[t1219]",
        "attack.techniques",
        "techniques:",
        ("'t1219' is not an ATT&CK technique id", "T followed by four digits"),
    ),
    Bad(
        "unknown-tactic",
        "[CommandAndControl]",
        "[CommandAndControll]",
        "attack.tactics",
        "tactics:",
        ("unknown tactic", "did you mean 'CommandAndControl'", "allowed: Reconnaissance"),
    ),
    Bad(
        "unknown-field",
        "  field: file.code_signature.subject_name",
        "  field: file.code_signature.subjectname",
        "detection.field",
        "subjectname",
        ("unknown field", "did you mean 'file.code_signature.subject_name'", "taxonomy"),
    ),
    Bad(
        "window-unit",
        "window: 5d",
        "window: 5x",
        "window",
        "window: 5x",
        ("'5x' is not a duration", "m (minutes), h (hours) or d (days)"),
    ),
    Bad(
        "window-zero",
        "window: 5d",
        "window: 0d",
        "window",
        "window: 0d",
        ("'0d' is not a duration", "above 0"),
    ),
    Bad(
        "placeholder-in-detection",
        "  value: Nanosystems S.R.L.",
        "  value: '{{signer}}'",
        "detection",
        "detection:",
        ("placeholders are allowed in exclusions only",),
    ),
    Bad(
        "partial-placeholder",
        'value: "{{update_hash}}"',
        'value: "x{{update_hash}}"',
        "exclusions.0.condition.all.1.value",
        "x{{update_hash}}",
        ("a placeholder must be the whole value",),
    ),
    Bad(
        "duplicate-exclusion-name",
        "  - name: Log collection",
        "  - name: deployment",
        "exclusions",
        "exclusions:",
        ("exclusion names must be unique", "repeated: 'deployment'"),
    ),
    Bad(
        "not-a-url",
        "  vendor: Nanosystems S.R.L.",
        "  vendor: Nanosystems S.R.L.\n  website: www.supremocontrol.com",
        "tool.website",
        "website:",
        ("expected a web address starting with http:// or https://",),
    ),
]


def _line(text: str, fragment: str) -> int:
    """Return the one line holding ``fragment``; a leading newline anchors it at line start."""
    lines = ("\n" + line for line in text.splitlines())
    (number,) = [n for n, line in enumerate(lines, 1) if fragment in line]
    return number


def _error(path: Path) -> RuleFileError:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    (error,) = caught.value.errors
    return error


def test_the_base_rule_loads(tmp_path: Path) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(BASE, encoding="utf-8")
    assert load_rule(path).name == "Example rule"


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.id)
def test_bad_rule_file_names_file_line_field_and_allowed(tmp_path: Path, bad: Bad) -> None:
    assert BASE.count(bad.old) == 1, "the case must change exactly one place"
    text = BASE.replace(bad.old, bad.new)
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    error = _error(path)
    assert error.path == path
    assert error.field == bad.field
    assert error.line == _line(text, bad.at)
    for fragment in bad.says:
        assert fragment in error.problem
    assert str(error).startswith(f"{path}:{error.line}:" if error.line else f"{path}:")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "holds no rule"),
        ("# only a comment\n", "holds no rule"),
        ("- a\n- b\n", "must be a mapping of keys, not a list"),
        ("just text\n", "must be a mapping of keys, not the text 'just text'"),
    ],
    ids=["empty", "comment-only", "list-document", "text-document"],
)
def test_a_file_that_is_no_rule(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    assert says in _error(path).problem


def test_every_error_of_a_file_is_listed(tmp_path: Path) -> None:
    text = BASE.replace("[T1219]", "[T12]").replace("window: 5d", "window: 5x")
    second = BASE.replace("0b4d4c5e", "1b4d4c5e").replace("name: Example rule", "name: 42")
    path = tmp_path / "rules.yml"
    path.write_text(text + "---\n" + second, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_rules(path)
    fields = [error.field for error in caught.value.errors]
    assert fields == ["attack.techniques", "window", "name"]
    assert str(caught.value).startswith("3 errors in the catalog:\n")


def test_duplicate_id_within_a_file_names_both_lines(tmp_path: Path) -> None:
    second = BASE.replace("name: Example rule", "name: Another rule")
    path = tmp_path / "rules.yml"
    path.write_text(BASE + "---\n" + second, encoding="utf-8")
    error = _error(path)
    first_line, second_line = 1, len(BASE.splitlines()) + 2
    assert (error.field, error.line) == ("id", second_line)
    assert f"already used in this file at {path}:{first_line}" in error.problem


@pytest.mark.parametrize("key", ["id", "name"])
def test_duplicate_across_the_catalog_names_both_files_and_lines(tmp_path: Path, key: str) -> None:
    other = {
        "id": BASE.replace("name: Example rule", "name: Another rule"),
        "name": BASE.replace("0b4d4c5e", "1b4d4c5e").replace("Example rule", "example RULE"),
    }[key]
    (tmp_path / "a.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "b.yml").write_text("# a comment first\n" + other, encoding="utf-8")
    error = _error(tmp_path)
    expected_line = _line(other, f"\n{key}:") + 1
    assert (error.path, error.line, error.field) == (tmp_path / "b.yml", expected_line, key)
    a_line = _line(BASE, f"\n{key}:")
    assert f"already used in the catalog at {tmp_path / 'a.yml'}:{a_line}" in error.problem


def test_errors_from_several_files_are_all_listed(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(BASE.replace("[T1219]", "[T12]"), encoding="utf-8")
    (tmp_path / "b.yml").write_text("", encoding="utf-8")
    (tmp_path / "c.yml").write_text(BASE.replace("window: 5d", "window: 5d\nwindow: 1d"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert [e.path.name for e in caught.value.errors if e.path] == ["a.yml", "b.yml", "c.yml"]


def test_a_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such file or folder") as caught:
        load_catalog(tmp_path / "nowhere.yml")
    assert caught.value.path == tmp_path / "nowhere.yml"


def test_load_rule_refuses_a_file_of_several_rules(tmp_path: Path) -> None:
    second = BASE.replace("0b4d4c5e", "1b4d4c5e").replace("Example rule", "Another rule")
    path = tmp_path / "rules.yml"
    path.write_text(BASE + "---\n" + second, encoding="utf-8")
    with pytest.raises(RuleFileError, match="holds 2 rules"):
        load_rule(path)
    assert len(load_rules(path)) == 2
