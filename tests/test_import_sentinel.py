"""Importing Sentinel hunting queries: published files, the founding query, every refusal."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

import pytest
from rmmdetect_backends.kql.schema import COLUMNS as KQL_COLUMNS
from rmmdetect_backends.kql.schema import SCHEMA

from rmmdetect import Rule, RuleFileError
from rmmdetect.cli import main
from rmmdetect.errors import UnknownTargetError, UnsupportedQueryError
from rmmdetect.importers import IMPORTERS, RULE_FIELDS, ImportOptions, import_file, import_text
from rmmdetect.importers.defender import CATEGORIES, COLUMNS, KNOWN_PROBLEMS
from rmmdetect.importers.kusto import QueryShapeError, tokenize
from rmmdetect.model import AllOf, Match, Operator, Severity

DATA = Path(__file__).parent / "data" / "sentinel"
SEED = DATA / "seed_supremo_hunting.yaml"


def test_seed_imports_to_the_catalog_rule(supremo: Rule, caplog: pytest.LogCaptureFixture) -> None:
    imported = import_file("sentinel", SEED)
    for field in IMPORTERS["sentinel"].carries:
        assert getattr(imported, field) == getattr(supremo, field), field
    assert not caplog.records


def test_dropped_fields_come_from_the_options(supremo: Rule) -> None:
    options = ImportOptions(
        tool="SupRemo", vendor="Nanosystems S.R.L.", author="me", date=dt.date(2026, 1, 2)
    )
    imported = import_file("sentinel", SEED, options)
    # Equal to the catalog rule with exactly the dropped fields taken from the options.
    assert imported == Rule.model_validate(
        {
            **supremo.model_dump(by_alias=True),
            **{k: v for k, v in options.defaults().items() if k in IMPORTERS["sentinel"].drops},
        }
    )
    changed = {f for f in RULE_FIELDS if getattr(imported, f) != getattr(supremo, f)}
    assert changed <= set(IMPORTERS["sentinel"].drops)
    assert changed == {"author", "date", "status", "tool", "exclusions", "notes", "references"}


@pytest.mark.parametrize("name", sorted(IMPORTERS))
def test_carries_and_drops_split_the_rule_fields(name: str) -> None:
    importer = IMPORTERS[name]
    assert sorted(importer.carries + importer.drops) == sorted(RULE_FIELDS)
    assert not set(importer.carries) & set(importer.drops)


def test_misindented_data_types_is_recovered_with_a_warning(
    supremo: Rule, caplog: pytest.LogCaptureFixture
) -> None:
    published = DATA / "jischell_rmm_SupRemo_filesig.yaml"
    with caplog.at_level(logging.WARNING, logger="rmmdetect"):
        imported = import_file("sentinel", published)
    assert [r.getMessage() for r in caplog.records] == [
        f"{published}:8: 'dataTypes:' is not indented under '- connectorId:' (not valid YAML); "
        "read as that connector's dataTypes"
    ]
    for field in IMPORTERS["sentinel"].carries:
        assert getattr(imported, field) == getattr(supremo, field), field


def test_published_signer_any_of() -> None:
    rule = import_file("sentinel", DATA / "azure_rmm_AnyDesk_filesig.yaml")
    assert rule.detection == Match(
        field="file.code_signature.subject_name",
        op=Operator.HAS,
        values=("anydesk software", "philandro software"),
    )


def test_published_process_shape() -> None:
    rule = import_file("sentinel", DATA / "azure_rmm_AnyDesk_createproc.yaml")
    assert rule.data.category == CATEGORIES["DeviceProcessEvents"]
    assert rule.detection == AllOf(
        all=(
            Match(
                field="process.pe.company",
                op=Operator.HAS,
                values=("anydesk software", "philandro software"),
            ),
            Match(field="process.pe.product", op=Operator.HAS, values=("anydesk",)),
        )
    )


@pytest.mark.parametrize(
    ("name", "line", "part"),
    [
        ("jischell_rmm_SupRemo_createproc.yaml", 21, "the account's user principal name"),
        ("jischell_rmm_SupRemo_netconn.yaml", 25, "DeviceNetworkEvents has no column AccountUpn"),
        ("azure_rmm_AnyDesk_netconn.yaml", 26, "DeviceNetworkEvents has no column AccountUpn"),
    ],
)
def test_published_queries_naming_accountupn_are_refused(name: str, line: int, part: str) -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        import_file("sentinel", DATA / name)
    assert caught.value.line == line
    assert "column 'AccountUpn' cannot be imported" in str(caught.value)
    assert part in str(caught.value)


def _hunting(query: str, extra: str = "") -> str:
    body = "".join(f"  {line}\n" for line in query.splitlines())
    return (
        "id: 5882eb11-389c-4095-87f2-e1d3ecaa956c\nname: A rule\ndescription: Something.\n"
        "requiredDataConnectors:\n- connectorId: MicrosoftThreatProtection\n  dataTypes:\n"
        "  - DeviceNetworkEvents\ntactics: CommandAndControl\nrelevantTechniques: T1219\n"
        f"{extra}query: |\n{body}"
    )


_HEAD = (
    "let Time_start = now(-5d);\nlet Time_end = now();\nDeviceNetworkEvents\n"
    "| where Timestamp between (Time_start .. Time_end)\n"
)
_QUERY_LINE = 10


def test_network_shape_with_escapes_and_tostring() -> None:
    query = (
        _HEAD
        + "| where (RemoteUrl has_any ('a.com', @'b''c', \"d\\\"e\\u0041\") // it's a comment\n"
        + "    or tostring(ReportId) == 'x') and not(InitiatingProcessFileName in~ ('p', 'q'))\n"
        + "| where RemoteUrl contains_cs 'x' or RemoteUrl contains_cs 'y'\n"
        + "| summarize N=count() by DeviceId, RemoteUrl\n"
    )
    rule = import_text("sentinel", _hunting(query), "rule.yaml")
    assert rule.window == "5d"
    assert rule.aggregation is not None and rule.aggregation.by == ("host.id", "destination.domain")
    assert rule.model_dump(by_alias=True)["detection"] == {
        "all": (
            {
                "all": (
                    {
                        "any": (
                            {
                                "field": "destination.domain",
                                "op": "has",
                                "values": ("a.com", "b'c", 'd"eA'),
                                "cased": False,
                            },
                            {"field": "event.id", "op": "equals", "values": ("x",), "cased": True},
                        )
                    },
                    {
                        "not": {
                            "field": "process.name",
                            "op": "equals",
                            "values": ("p", "q"),
                            "cased": False,
                        }
                    },
                )
            },
            {"field": "destination.domain", "op": "contains", "values": ("x", "y"), "cased": True},
        )
    }


def test_analytic_rule_severity() -> None:
    extra = "kind: Scheduled\nseverity: High\nqueryFrequency: 1h\nqueryPeriod: 5d\n"
    query = _HEAD + "| where RemoteUrl has 'a.com'\n"
    rule = import_text("sentinel", _hunting(query, extra), options=ImportOptions())
    assert rule.severity is Severity.HIGH


@pytest.mark.parametrize(
    ("query_lines", "line", "part"),
    [
        (["| where RemoteUrl has 'a'", "| join (DeviceEvents) on DeviceId"], 6, "'| join'"),
        (["| where RemoteUrl !has 'a'"], 5, "operator '!has' is not supported"),
        (["| where RemoteUrl matches regex 'a'"], 5, "operator 'matches' is not supported"),
        (["| where Nope has 'a'"], 5, "column 'Nope' cannot be imported"),
        (["| where RemoteUrl has 'a"], 5, "not closed on its line"),
        (["| where RemoteUrl has 'a\\qb'"], 5, "'\\q' is not a Kusto string escape"),
        (["| where RemoteUrl has 5"], 5, "expected a string literal"),
        (["| summarize N=count() by DeviceId"], 5, "'| summarize' is not a supported query step"),
        (
            ["| where RemoteUrl has 'a'", "| summarize N=dcount(DeviceId) by DeviceId"],
            6,
            "'dcount'",
        ),
        (["| where RemoteUrl has 'a'", "| summarize N=count() by DeviceId", "| take 1"], 7, "'|'"),
        (["| where RemoteUrl has 'a' #"], 5, "'#' is not part of a supported query"),
        (["| where (RemoteUrl has 'a'"], 6, "expected ')'"),
        ([], 5, "no '| where' condition"),
    ],
)
def test_unsupported_query_parts_are_refused(query_lines: list[str], line: int, part: str) -> None:
    query = _HEAD + "".join(f"{text}\n" for text in query_lines)
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text("sentinel", _hunting(query), "rule.yaml")
    assert caught.value.line == _QUERY_LINE + line
    assert caught.value.field == "query"
    assert f"(line {line} of the query)" in str(caught.value)
    assert part in str(caught.value)


@pytest.mark.parametrize(
    ("query", "part"),
    [
        ("DeviceNetworkEvents\n| where RemoteUrl has 'a'", "the window 'let Time_start"),
        (_HEAD.replace("5d", "1.5d") + "| where RemoteUrl has 'a'", "'1.5d' is not a supported"),
        (_HEAD.replace("5d", "5s") + "| where RemoteUrl has 'a'", "'5s' is not a supported"),
        (_HEAD.replace("DeviceNetworkEvents", "DeviceEvents"), "table 'DeviceEvents'"),
        (_HEAD.replace("Timestamp between", "Timestamp > "), "right after the table"),
        (_HEAD.replace("let Time_end = now();", ""), "'let Time_end = now();'"),
    ],
)
def test_unsupported_query_frames_are_refused(query: str, part: str) -> None:
    with pytest.raises(UnsupportedQueryError, match="of the query") as caught:
        import_text("sentinel", _hunting(query))
    assert part in str(caught.value)


@pytest.mark.parametrize(
    ("text", "field", "part"),
    [
        (_hunting(_HEAD + "| where RemoteUrl has 'a'", "owner: me\n"), "owner", "not a Sentinel"),
        (_hunting(_HEAD + "| where RemoteUrl has 'a'", "severity: Severe\n"), "severity", "Severe"),
        (_hunting("").replace("name: A rule\n", ""), "name", "is required"),
        (
            _hunting(_HEAD + "| where RemoteUrl has 'a'").replace("T1219", "[1]"),
            "relevantTechniques",
            "list of strings",
        ),
        (
            _hunting(_HEAD + "| where RemoteUrl has 'a'").replace("5882eb11", "nope"),
            "id",
            "not valid",
        ),
        (
            _hunting(_HEAD + "| where RemoteUrl has 'a'").replace(
                "  dataTypes:\n  -", "  types:\n  -"
            ),
            "requiredDataConnectors.0",
            "connectorId, dataTypes",
        ),
    ],
)
def test_bad_files_are_refused(text: str, field: str, part: str) -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text("sentinel", text, "rule.yaml")
    assert caught.value.field is not None and caught.value.field.startswith(field)
    assert part in str(caught.value)


def test_not_yaml_and_not_a_mapping_are_refused() -> None:
    with pytest.raises(RuleFileError, match="not valid YAML"):
        import_text("sentinel", "id: [\n", "rule.yaml")
    with pytest.raises(UnsupportedQueryError, match="one mapping of keys"):
        import_text("sentinel", "- a\n", "rule.yaml")


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnknownTargetError, match="allowed: eql, sentinel, sigma"):
        import_text("sentinal", "")
    with pytest.raises(RuleFileError, match="cannot read the file"):
        import_file("sentinel", tmp_path / "missing.yaml")


def test_tokenizer_keeps_quotes_and_slashes_inside_strings() -> None:
    tokens = tokenize('X has \'//x\' // \'y\nY has @"a""b" and "\\\\"')
    assert [t.value for t in tokens if t.kind == "string"] == ["//x", 'a"b', "\\"]
    assert [t.line for t in tokens if t.kind == "string"] == [1, 2, 2]
    with pytest.raises(QueryShapeError, match="not closed"):
        tokenize("'abc\n'")


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_defender_columns_agree_with_the_kql_backend(table: str) -> None:
    for column, field in COLUMNS[table].items():
        assert KQL_COLUMNS[table][field] == column, (table, column)
    # Every column the backend writes reads back.
    assert set(KQL_COLUMNS[table].values()) <= set(COLUMNS[table])
    for (known_table, column), _ in KNOWN_PROBLEMS.items():
        assert column not in COLUMNS[known_table]
    assert ("AccountUpn" in SCHEMA[table]) == (table == "DeviceProcessEvents")


def test_cli_writes_the_rule_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "supremo.yml"
    args = ["import", "--from", "sentinel", str(SEED), "--tool", "SupRemo", "--date", "2026-12-03"]
    assert main([*args, "-o", str(out)]) == 0
    assert (
        import_file("sentinel", SEED).detection
        == Rule.model_validate(__import__("yaml").safe_load(out.read_text())).detection
    )
    stdout = io.StringIO()
    assert main(args, stdout=stdout) == 0
    assert stdout.getvalue() == out.read_text()
    bad = tmp_path / "bad.yml"
    assert (
        main(
            [
                "import",
                "--from",
                "sentinel",
                str(DATA / "azure_rmm_AnyDesk_netconn.yaml"),
                "-o",
                str(bad),
            ]
        )
        == 1
    )
    assert not bad.exists()
    err = capsys.readouterr().err
    assert "error: " in err and "AccountUpn" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [out]


def test_misindented_file_with_crlf_line_ends(supremo: Rule) -> None:
    text = (DATA / "jischell_rmm_SupRemo_filesig.yaml").read_text().replace("\n", "\r\n")
    assert import_text("sentinel", text).detection == supremo.detection
