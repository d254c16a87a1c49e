"""The catalog as data: it lints clean, renders everywhere, follows the fact table, regenerates.

Also the contributor commands: ``rmmdetect new`` output passes ``check``, and ``rmmdetect
test`` on the sample events gives what the reference evaluator says (the expectations below
are worked out by hand from examples/events/ and the evaluator's semantics).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import rmmdetect
import test_sigma
from conftest import REPO, SUPREMO_ID
from oracles.kusto import KustoAnalyser
from rmmdetect import Catalog, Policy, Rule
from rmmdetect.cli import main
from rmmdetect.events import parse_time, read_events, select_rule, try_rule
from rmmdetect.lint import (
    Level,
    example_site,
    is_shared_signer,
    lint,
    lint_catalog,
    summarize,
    tool_slug,
)
from rmmdetect.model import DataCategory, iter_matches
from rmmdetect.scaffold import quote
from test_eql_backend import FORMATS as EQL_FORMATS
from test_eql_backend import parse as parse_eql
from test_eql_backend import queries as eql_queries
from test_sigma import Validators
from test_sigma import _check as check_sigma

validator = test_sigma.validator
"""The SigmaHQ validators, configured as the Sigma backend's tests configure them."""

FACTS = yaml.safe_load((REPO / "tools" / "rmm_facts.yaml").read_text(encoding="utf-8"))
TOOLS: list[dict[str, Any]] = FACTS["tools"]
EVENTS = REPO / "examples" / "events"
NOW = "2026-12-03T12:00:00Z"
TARGETS = [(name, fmt) for name, info in rmmdetect.targets().items() for fmt in info.formats]
SIGNER = "file.code_signature.subject_name"


def rule_file(tool: str) -> Path:
    slug = "supremo" if tool == "Supremo" else tool_slug(tool)
    return REPO / "rules" / f"{slug}.yml"


def rules_of(catalog: Catalog, tool: str) -> list[Rule]:
    path = rule_file(tool)
    return [rule for rule in catalog if catalog.sources[rule.id].resolve() == path.resolve()]


def values(rule: Rule, field: str) -> set[str]:
    return {v for m in iter_matches(rule.detection) if m.field == field for v in m.values}


# --- the catalog as data ------------------------------------------------------------------


def test_catalog_lints_without_errors_or_broad_signers(catalog: Catalog) -> None:
    findings = lint_catalog(catalog)
    errors = [str(f) for f in findings if f.level is Level.ERROR]
    assert errors == []
    assert [str(f) for f in findings if f.code == "broad-signer"] == []
    assert [str(f) for f in findings if f.level is Level.WARNING] == []


def test_a_placeholder_shared_by_two_tools_is_flagged(catalog: Catalog) -> None:
    supremo = catalog.get(SUPREMO_ID)
    anydesk = next(rule for rule in catalog if rule.tool.name == "AnyDesk" and rule.exclusions)
    shared = anydesk.model_copy(update={"exclusions": supremo.exclusions[:1]})
    sources = {supremo.id: catalog.sources[supremo.id], shared.id: catalog.sources[anydesk.id]}
    findings = lint_catalog(Catalog((supremo, shared), sources))
    flagged = [f for f in findings if f.code == "placeholder-name"]
    assert len(flagged) == 2
    assert "legitimate_supremo_msi_hash" in str(flagged[0])


def test_every_tool_of_the_fact_table_has_a_file(catalog: Catalog) -> None:
    files = {path.resolve() for path in catalog.sources.values()}
    assert {rule_file(tool["tool"]).resolve() for tool in TOOLS} == files
    assert len(files) == len(TOOLS) == FACTS["meta"]["tool_count"]


@pytest.mark.parametrize(("target", "fmt"), TARGETS, ids=[f"{t}-{f}" for t, f in TARGETS])
def test_every_rule_renders_for_every_target_and_format(
    catalog: Catalog, target: str, fmt: str
) -> None:
    for rule in catalog:
        # The detection itself must always be expressible: nothing unsupported is tolerated.
        bare = rmmdetect.convert(rule, target, fmt, unresolved="omit", unsupported=Policy.RAISE)
        assert bare.text.strip()
        # With every exclusion filled in, a part a target cannot express becomes a note.
        filled = rmmdetect.convert(
            rule, target, fmt, site=example_site(rule), unsupported="collect"
        )
        assert filled.text.strip()


def test_every_kql_query_analyses_clean(catalog: Catalog, kusto: KustoAnalyser) -> None:
    problems = []
    for rule in catalog:
        for site in (None, example_site(rule)):
            query = rmmdetect.render(rule, "kql", "query", site=site)
            analysis = kusto.analyse(query)
            if analysis.errors:
                problems.append(f"{rule.name}:\n{analysis.error_report()}")
    assert problems == []


# The backends' own tests check every catalog rule bare and with the SupRemo example site;
# these fill every tool's placeholders, so that every exclusion of the catalog is checked too.


@pytest.mark.parametrize("fmt", EQL_FORMATS)
def test_every_eql_rendering_with_all_exclusions_parses_with_eql(
    catalog: Catalog, fmt: str
) -> None:
    for rule in catalog:
        rendering = rmmdetect.convert(
            rule, "eql", fmt, site=example_site(rule), unsupported="collect"
        )
        for query in eql_queries(rendering.text, fmt):
            parse_eql(query)


@pytest.mark.parametrize("fmt", ["rule", "filters"])
def test_every_sigma_rendering_with_all_exclusions_validates_with_pysigma(
    catalog: Catalog, tmp_path: Path, validator: Validators, fmt: str
) -> None:
    for rule in catalog:
        rendering = rmmdetect.convert(
            rule, "sigma", fmt, site=example_site(rule), unsupported="collect"
        )
        check_sigma(rendering.text, rule, tmp_path, validator)


def test_references_are_https_links_pinned_to_a_commit(catalog: Catalog) -> None:
    pinned = re.compile(r"https://github\.com/[^/]+/[^/]+/(blob|tree)/[0-9a-f]{40}/\S+")
    for rule in catalog:
        assert rule.references, rule.name
        if str(rule.id) != SUPREMO_ID:
            assert all(pinned.fullmatch(url) for url in rule.references), rule.name


# --- the catalog against the fact table -------------------------------------------------------


def _trustworthy(tool: dict[str, Any]) -> set[str]:
    return {
        s["value"]
        for s in tool.get("signers", [])
        if "unsure" not in s and not is_shared_signer(s["value"])
    }


@pytest.mark.parametrize("tool", TOOLS, ids=[t["tool"] for t in TOOLS])
def test_signer_rule_exactly_when_the_table_has_a_trustworthy_signer(
    catalog: Catalog, tool: dict[str, Any]
) -> None:
    signer_rules = [
        r for r in rules_of(catalog, tool["tool"]) if r.data.category is DataCategory.FILE_SIGNATURE
    ]
    trusted = _trustworthy(tool)
    assert len(signer_rules) == (1 if trusted else 0)
    if trusted and tool["tool"] != "Supremo":
        assert values(signer_rules[0], SIGNER) == trusted


@pytest.mark.parametrize("tool", TOOLS, ids=[t["tool"] for t in TOOLS])
def test_no_unsure_or_shared_value_is_used(catalog: Catalog, tool: dict[str, Any]) -> None:
    doubtful = {
        item["value"]
        for key in ("signers", "processes", "domains")
        for item in tool.get(key, [])
        if "unsure" in item
    }
    used = {v for rule in rules_of(catalog, tool["tool"]) for v in values_all(rule)}
    assert not doubtful & used
    assert not {v for v in used if is_shared_signer(v)}


def values_all(rule: Rule) -> set[str]:
    return {v for m in iter_matches(rule.detection) for v in m.values}


def test_skipped_facts_are_listed_with_reasons(catalog: Catalog) -> None:
    skipped = json.loads((REPO / "rules" / "skipped.json").read_text(encoding="utf-8"))
    entries = skipped["skipped"]
    assert all(set(e) == {"tool", "kind", "value", "reason", "detail"} for e in entries)
    unsure = {
        (t["tool"], item["value"])
        for t in TOOLS
        for key in ("signers", "processes", "domains")
        for item in t.get(key, [])
        if "unsure" in item
    }
    assert unsure <= {(e["tool"], e["value"]) for e in entries if e["reason"] == "unsure"}
    without = {t["tool"] for t in TOOLS if not _trustworthy(t)}
    listed = {e["tool"] for e in entries if e["reason"] == "no-trustworthy-signer"}
    assert listed == without
    summary = summarize(catalog, REPO / "rules" / "skipped.json")
    assert summary.tools == len(TOOLS)
    assert sum(summary.by_category.values()) == len(catalog)
    assert sum(summary.skipped_by_reason().values()) == len(entries)


def test_founding_rule_is_unchanged(supremo: Rule) -> None:
    assert supremo.name == "Remote Management and Monitoring tool - SupRemo - File Signature"
    assert supremo.detection.model_dump() == {
        "field": SIGNER,
        "op": "has",
        "values": ("Nanosystems S.R.L.",),
        "cased": False,
    }
    assert len(supremo.exclusions) == 5
    assert rmmdetect.load_rules(REPO / "rules" / "supremo.yml")[0].id == supremo.id


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    script = REPO / "tools" / "generate_catalog.py"
    result = subprocess.run(
        [sys.executable, str(script), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    shipped = {p.name for p in (REPO / "rules").iterdir() if p.suffix in (".yml", ".json")}
    assert {p.name for p in tmp_path.iterdir()} == shipped
    for name in sorted(shipped):
        assert (tmp_path / name).read_bytes() == (REPO / "rules" / name).read_bytes(), name


def test_every_file_says_it_is_generated() -> None:
    for path in sorted((REPO / "rules").glob("*.yml")):
        head = path.read_text(encoding="utf-8").split("\n---\n", 1)[0]
        assert "Generated by tools/generate_catalog.py from tools/rmm_facts.yaml" in head


# --- rmmdetect new ----------------------------------------------------------------------------


def test_new_output_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "foo_remote.yml"
    argv = ["new", "--tool", "Foo Remote", "--vendor", "Foo Ltd", "--signer", "Foo Ltd"]
    argv += ["--process", "foo.exe", "--domain", "*.foo-remote.com", "-o", str(path)]
    assert main(argv, stdout=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["check", str(path)], stdout=out) == 0
    assert out.getvalue() == "3 rules in 1 files: no errors\n"
    rules = rmmdetect.load_rules(path)
    assert [r.data.category.value for r in rules] == ["file_signature", "process", "network"]
    names = {n for rule in rules for x in rule.exclusions for n in x.placeholders()}
    assert names == {
        "foo_remote_sanctioned_installer_sha1",
        "foo_remote_approved_admin_hosts",
        "foo_remote_management_server",
    }
    capsys.readouterr()
    assert main(argv, stdout=io.StringIO()) == 1
    assert "exists already" in capsys.readouterr().err


def test_check_reports_a_misnamed_file_and_a_broad_signer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Wrong-Name.yml"
    argv = [
        "new",
        "--tool",
        "Zed Assist",
        "--vendor",
        "Zoho",
        "--signer",
        "ZOHO Corporation Private Limited",
    ]
    assert main([*argv, "-o", str(path)], stdout=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["check", str(path)], stdout=out) == 1
    err = capsys.readouterr().err
    assert "belongs in 'zed_assist.yml' [file-name]" in err
    assert "warning: " in err and "[broad-signer]" in err


# --- rmmdetect test ---------------------------------------------------------------------------

SUPREMO_EXCLUDED = [
    (6, "Legitimate SupRemo Agent Installation via MSI"),
    (7, "Scheduled Job for System Monitoring via SupRemo"),
    (8, "Admin Uses SupRemo to Remotely Reboot a Server"),
    (9, "SupRemo Used for Software Deployment"),
    (10, "SupRemo Integration with SIEM for Log Collection"),
]


def test_supremo_sample_with_the_example_site() -> None:
    rule = select_rule(REPO / "rules" / "supremo.yml", SUPREMO_ID)
    site = rmmdetect.load_site(REPO / "examples" / "site.yml")
    run = try_rule(rule, read_events(EVENTS / "supremo.jsonl"), site, parse_time(NOW))
    # 1 and 2: both spellings of the signer; 3, 4: near misses; 5: outside the 5d window;
    # 11: a scheduled-task id the site did not approve.
    assert run.matched_lines == [1, 2, 11]
    assert run.excluded_lines == SUPREMO_EXCLUDED
    assert [row["host.name"] for row in run.evaluation.rows] == ["ws-01", "ws-02", "srv-05"]


def test_supremo_sample_without_a_site_applies_no_exclusion() -> None:
    rule = select_rule(REPO / "rules" / "supremo.yml", SUPREMO_ID)
    run = try_rule(rule, read_events(EVENTS / "supremo.jsonl"), None, parse_time(NOW))
    assert run.matched_lines == [1, 2, 6, 7, 8, 9, 10, 11]
    assert run.excluded_lines == []
    assert len(run.omitted) == 5


def test_test_command_on_the_process_sample() -> None:
    out = io.StringIO()
    argv = ["test", str(REPO / "rules" / "anydesk.yml"), "--rule", "RMM tool - AnyDesk - Process"]
    argv += ["--events", str(EVENTS / "anydesk_process.jsonl"), "--now", NOW]
    argv += ["--site", str(EVENTS / "anydesk_site.yml")]
    assert main(argv, stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[1] == "events: 7 read, 4 matched the detection in the window, 2 kept"
    # 1: by name, any case; 2: renamed, by company; 3, 4: near misses; 7: too old.
    assert [line.split(":")[0].strip() for line in lines if "line" in line] == [
        "match line 1",
        "match line 2",
        "excluded line 5 by 'Sanctioned AnyDesk installer'",
        "excluded line 6 by 'Approved AnyDesk admin hosts'",
    ]


def test_test_command_needs_a_rule_choice_in_a_file_of_several(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "test",
        str(REPO / "rules" / "anydesk.yml"),
        "--events",
        str(EVENTS / "anydesk_process.jsonl"),
    ]
    assert main(argv, stdout=io.StringIO()) == 1
    assert "3 rules in the file; choose one with --rule" in capsys.readouterr().err


def test_bad_json_lines_give_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "bad.jsonl"
    good = '{"@timestamp": "2026-12-01T00:00:00Z", "host.name": "a"}'
    events.write_text(f"{good}\n{{not json\n\n[1, 2]\n", encoding="utf-8")
    argv = ["test", str(REPO / "rules" / "supremo.yml"), "--rule", SUPREMO_ID]
    assert main([*argv, "--events", str(events)], stdout=io.StringIO()) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {events}:2: not valid JSON")
    assert err[1] == f"error: {events}:4: an event is a JSON object, not list"


def test_check_summary_counts_tools_rules_and_skipped_facts(catalog: Catalog) -> None:
    out = io.StringIO()
    assert main(["check", str(REPO / "rules"), "--summary"], stdout=out) == 0
    summary = summarize(catalog, REPO / "rules" / "skipped.json")
    by_category = ", ".join(f"{name} {count}" for name, count in summary.by_category.items())
    lines = out.getvalue().splitlines()
    assert lines[1:4] == [
        f"tools: {len(TOOLS)}",
        f"rules: {len(catalog)} ({by_category})",
        f"skipped facts: {len(summary.skipped)}",
    ]
    assert "  unsure: " in out.getvalue()


def test_lint_reports_a_file_the_loader_rejects(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    catalog, findings = lint([path])
    assert catalog is None
    assert [(f.level, f.code, f.path) for f in findings] == [(Level.ERROR, "schema", path)]


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_scaffold_quote_reads_back_unchanged(text: str) -> None:
    assert yaml.safe_load(f"key: {quote(text)}")["key"] == text
