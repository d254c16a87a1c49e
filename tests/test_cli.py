"""The installed ``rmmdetect`` command, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rmmdetect
from conftest import REPO, SUPREMO_ID
from oracles.kusto import KustoAnalyser
from rmmdetect.loader import load_yaml_documents
from test_loader import BAD, BASE, Bad

SCRIPT = Path(sys.executable).with_name("rmmdetect")
SEED_COLUMNS = ["DeviceId", "DeviceName", "FirstSeen", "LastSeen", "Report", "Count"]
SITE = REPO / "examples" / "site.yml"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not SCRIPT.is_file():
        pytest.fail(f"the console script is not installed next to {sys.executable}")
    result = subprocess.run(
        [str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def supremo_file() -> Path:
    return rmmdetect.default_catalog_path() / "supremo.yml"


def queries(output: str) -> dict[str, str]:
    """Split a multi-rule KQL output into its queries, by the rule id each one names."""
    parts = re.split(r"\n\n(?=// )", output)
    return {re.findall(r"// rmmdetect rule (\S+)", part)[0]: part for part in parts}


def test_convert_kql_of_the_bundled_supremo_file_analyses_clean(kusto: KustoAnalyser) -> None:
    result = run("convert", "-t", "kql", supremo_file())
    assert result.returncode == 0, result.stderr
    found = queries(result.stdout)
    assert SUPREMO_ID in found
    for rule_id, query in found.items():
        analysis = kusto.analyse(query)
        assert not analysis.errors, (rule_id, analysis.error_report())
    seed = kusto.analyse(found[SUPREMO_ID])
    assert [name for name, _ in seed.columns] == SEED_COLUMNS


def test_convert_without_a_path_renders_the_bundled_catalog() -> None:
    result = run("convert", "-t", "kql")
    assert result.returncode == 0, result.stderr
    found = queries(result.stdout)
    assert len(found) == len(rmmdetect.load_catalog())
    assert "| where Signer has 'Nanosystems S.R.L.'" in found[SUPREMO_ID]


def test_sentinel_hunting_is_strict_yaml_with_the_seed_fields(tmp_path: Path) -> None:
    result = run("convert", "-t", "kql", "-f", "sentinel-hunting", supremo_file())
    assert result.returncode == 0, result.stderr
    path = tmp_path / "hunting.yaml"
    path.write_text(result.stdout, encoding="utf-8")
    documents = {doc.data["id"]: doc.data for doc in load_yaml_documents(path)}
    seed = documents[SUPREMO_ID]
    assert seed["name"] == "Remote Management and Monitoring tool - SupRemo - File Signature"
    assert seed["requiredDataConnectors"] == [
        {"connectorId": "MicrosoftThreatProtection", "dataTypes": ["DeviceFileCertificateInfo"]}
    ]
    assert seed["tactics"] == ["CommandAndControl"]
    assert seed["relevantTechniques"] == ["T1219"]


def test_site_fills_the_exclusions(kusto: KustoAnalyser) -> None:
    result = run("convert", "-t", "kql", "--site", SITE, supremo_file())
    assert result.returncode == 0, result.stderr
    query = queries(result.stdout)[SUPREMO_ID]
    assert query.count("// Exclusion:") == 5
    assert "'10.20.30.40', '10.20.30.41'" in query
    analysis = kusto.analyse(query)
    assert not analysis.errors, analysis.error_report()
    assert [name for name, _ in analysis.columns] == SEED_COLUMNS


def test_explain_says_what_was_left_out() -> None:
    result = run("convert", "-t", "kql", "--explain", supremo_file())
    assert result.returncode == 0, result.stderr
    seed = "Remote Management and Monitoring tool - SupRemo - File Signature [query]:"
    assert seed in result.stderr
    assert "omitted: exclusion 'Legitimate SupRemo Agent Installation via MSI'" in result.stderr
    with_site = run("convert", "-t", "kql", "--explain", "--site", SITE, supremo_file())
    block = with_site.stderr.split(seed, 1)[1].split("\n", 2)[1]
    assert block == "  (exact: nothing left out)"


def test_targets_lists_kql_and_its_formats() -> None:
    result = run("targets")
    assert result.returncode == 0
    assert "kql: " in result.stdout
    assert "  -f query (default): " in result.stdout
    assert "  -f sentinel-hunting: " in result.stdout


def test_check_of_the_bundled_catalog_is_clean() -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    count = len(rmmdetect.load_catalog())
    assert re.fullmatch(rf"{count} rules in \d+ files: no errors\n", result.stdout)


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.id)
def test_check_of_a_bad_file_fails_with_file_line_and_field(tmp_path: Path, bad: Bad) -> None:
    text = BASE.replace(bad.old, bad.new)
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    result = run("check", path)
    assert result.returncode == 1
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()
    field = f" {bad.field}:" if bad.field else ""
    assert message.startswith(f"error: {path}:"), message
    assert re.match(rf"error: {re.escape(str(path))}:\d+:{re.escape(field)} ", message), message
    assert all(fragment in message for fragment in bad.says)


def test_check_lists_every_error(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(BASE.replace("[T1219]", "[T12]"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(BASE.replace("window: 5d", "window: 5x"), encoding="utf-8")
    result = run("check", tmp_path)
    assert result.returncode == 1
    assert [line.split(":")[1] for line in result.stderr.splitlines()] == [
        f" {tmp_path / 'a.yml'}",
        f" {tmp_path / 'b.yml'}",
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-t", "kqll"], "unknown target 'kqll' (did you mean 'kql'?); allowed: "),
        (
            ["-t", "kql", "-f", "hunting"],
            "unknown format 'hunting' of target 'kql' (did you mean 'sentinel-hunting'?); "
            "allowed: query, sentinel-hunting",
        ),
        (["-t", "kql", "-O", "colour=red"], "unknown option 'colour' of target 'kql'"),
        (["-t", "kql", "-O", "colour"], "option 'colour' must be written NAME=VALUE"),
        (["-t", "kql", "nowhere.yml"], "nowhere.yml: no such file or folder"),
        (
            ["-t", "kql", "--unresolved", "fail"],
            "rule 'Remote Management and Monitoring tool - SupRemo - File Signature', exclusion "
            "'Legitimate SupRemo Agent Installation via MSI': no site value for "
            "{{legitimate_supremo_msi_hash}}",
        ),
    ],
    ids=["target", "format", "option", "option-syntax", "missing-path", "unresolved-fail"],
)
def test_convert_refuses_bad_input(args: list[str], says: str) -> None:
    result = run("convert", *args, supremo_file())
    assert result.returncode == 1
    assert result.stdout == ""
    assert says in result.stderr


def test_a_bad_site_file_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text("placeholders:\n  scheduled_task_id: 7301\n", encoding="utf-8")
    result = run("convert", "-t", "kql", "--site", site, supremo_file())
    assert result.returncode == 1
    assert f"error: {site}:2: placeholders.scheduled_task_id: expected quoted text" in (
        result.stderr
    )


def test_a_wrong_command_line_exits_2() -> None:
    result = run("convert")
    assert result.returncode == 2
    assert "required: -t/--target" in result.stderr


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    output = tmp_path / "out" / "queries.kql"
    output.parent.mkdir()
    printed = run("convert", "-t", "kql", supremo_file()).stdout
    result = run("convert", "-t", "kql", "-o", output, supremo_file())
    assert result.returncode == 0, result.stderr
    assert output.read_text(encoding="utf-8") == printed
    assert list(output.parent.iterdir()) == [output]


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_a_failing_rule_leaves_no_half_written_output(tmp_path: Path, existing: bool) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    # The first rule renders, the second fails: nothing may reach the output.
    (rules / "a.yml").write_text(BASE.split("exclusions:")[0], encoding="utf-8")
    (rules / "b.yml").write_text(supremo_file().read_text(encoding="utf-8"), encoding="utf-8")
    output = tmp_path / "out" / "queries.kql"
    output.parent.mkdir()
    if existing:
        output.write_text("previous\n", encoding="utf-8")
    result = run("convert", "-t", "kql", "--unresolved", "fail", "-o", output, rules)
    assert result.returncode == 1
    assert "no site value for" in result.stderr
    if existing:
        assert output.read_text(encoding="utf-8") == "previous\n"
        assert list(output.parent.iterdir()) == [output]
    else:
        assert list(output.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "says"),
    [("missing/out.kql", "No such file or directory"), (".", "it is a folder; name a file")],
    ids=["missing-folder", "a-folder"],
)
def test_an_unwritable_output_is_an_error(tmp_path: Path, where: str, says: str) -> None:
    output = tmp_path / where
    result = run("convert", "-t", "kql", "-o", output, supremo_file())
    assert result.returncode == 1
    assert f"error: cannot write {output}: {says}" in result.stderr
    assert list(tmp_path.iterdir()) == []
