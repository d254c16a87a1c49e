"""Importing EQL queries: Elastic style, the EQL backend's own queries, every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from rmmdetect_backends.eql.events import EVENTS

from rmmdetect import Rule, render
from rmmdetect.errors import UnsupportedQueryError
from rmmdetect.importers import import_text
from rmmdetect.importers.elastic import FIELDS, _regex
from rmmdetect.model import AllOf, AnyOf, DataCategory, Match, Not, Operator

ELASTIC_STYLE = """process where host.os.type == "windows" and
  event.type in ("start", "process_started") and
  process.code_signature.subject_name : ("Vendor A*", "*Vendor B", "Vendor C") and
  process.pe.product like "Remote*" and
  process.name regex~ \"\"\"(.*[^A-Za-z0-9])?S\\.R\\.L([^A-Za-z0-9].*)?\"\"\" and
  not process.executable like~ "C:\\\\Program Files\\\\*" and
  not (process.parent.name in~ ("a.exe", "b.exe") or process.hash.sha256 != "x")
"""


def test_elastic_style_query() -> None:
    rule = import_text("eql", ELASTIC_STYLE, "vendor.eql")
    assert rule.name == "vendor"
    assert rule.data.category is DataCategory.FILE_SIGNATURE
    assert rule.detection == AllOf(
        all=(
            AnyOf(
                any=(
                    Match(
                        field="file.code_signature.subject_name",
                        op=Operator.STARTSWITH,
                        values=("Vendor A",),
                    ),
                    Match(
                        field="file.code_signature.subject_name",
                        op=Operator.ENDSWITH,
                        values=("Vendor B",),
                    ),
                    Match(
                        field="file.code_signature.subject_name",
                        op=Operator.EQUALS,
                        values=("Vendor C",),
                    ),
                )
            ),
            Match(
                field="process.pe.product", op=Operator.STARTSWITH, values=("Remote",), cased=True
            ),
            Match(field="process.name", op=Operator.HAS, values=("S.R.L",)),
        )
    )
    assert [e.name for e in rule.exclusions] == ["Exclusion 1", "Exclusion 2"]
    assert rule.exclusions[0].condition == Match(
        field="process.executable", op=Operator.STARTSWITH, values=("C:\\Program Files\\",)
    )
    assert rule.exclusions[1].condition == AnyOf(
        any=(
            Match(field="process.parent.name", op=Operator.EQUALS, values=("a.exe", "b.exe")),
            Not(
                not_=Match(
                    field="process.hash.sha256", op=Operator.EQUALS, values=("x",), cased=True
                )
            ),
        )
    )


def test_backend_query_keeps_id_name_and_exclusion_names(supremo: Rule) -> None:
    text = render(supremo, "eql", has_regex=True)
    rule = import_text("eql", text)
    assert (rule.id, rule.name) == (supremo.id, supremo.name)
    assert rule.detection == supremo.detection


def test_dns_and_connection_events() -> None:
    dns = (
        'network where host.os.type == "windows" and network.protocol == "dns" and '
        'dns.question.name : "*.x.com"'
    )
    rule = import_text("eql", dns)
    assert rule.detection == Match(
        field="destination.domain", op=Operator.ENDSWITH, values=(".x.com",)
    )
    connection = 'network where destination.ip == "10.0.0.1"'
    assert import_text("eql", connection).detection == Match(
        field="destination.ip", op=Operator.EQUALS, values=("10.0.0.1",), cased=True
    )


@pytest.mark.parametrize(
    ("needle", "op"),
    [("S.R.L", Operator.HAS), (".x.", Operator.CONTAINS), ("ab", Operator.EQUALS)],
)
def test_backend_regexes_read_back(needle: str, op: Operator) -> None:
    from rmmdetect_backends.eql.literals import regex_equals, regex_term

    pattern = regex_term(needle) if op is not Operator.EQUALS else regex_equals(needle)
    assert _regex(pattern) == (op, needle)


@pytest.mark.parametrize("category", list(EVENTS))
def test_eql_fields_agree_with_the_backend(category: DataCategory) -> None:
    # Every ECS field the backend writes for a canonical field reads back as that field or,
    # in a process start, as its process.* twin.
    kinds = {"file_signature": "signer", "process": "process"}
    for event in EVENTS[category]:
        kind = kinds.get(category.value) or (
            "dns" if "dns" in " ".join(event.selection) else "connection"
        )
        for canonical, ecs in event.fields.items():
            assert FIELDS[kind][ecs] in (canonical, ecs, ecs.replace("process.", "file.", 1)), ecs


@pytest.mark.parametrize(
    ("query", "part"),
    [
        ('file where file.name : "x"', "event category 'file'"),
        ('process where process.name : "a?b"', "pattern 'a?b'"),
        ('process where process.name : "a*b"', "pattern 'a*b'"),
        ('process where process.name regex "a.b"', "pattern 'a.b'"),
        ('process where process.nope : "x"', "field 'process.nope'"),
        ("process where process.pid > 4", "comparison '>'"),
        ("process where process.name == 4", "not a string"),
        ('process where process.name : "x" | head 1', "pipes"),
        ("sequence [process where true] [process where true]", "single event query"),
        ('process where host.os.type == "windows"', "detects nothing"),
        ("process where length(process.name) == 4", "is not supported"),
        ("process where", "eql cannot parse"),
        ('/* Exclusion: a */ process where process.name : "x"', "must stand before"),
    ],
)
def test_unsupported_eql_is_refused(query: str, part: str) -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text("eql", query, "q.eql")
    assert part in str(caught.value)


def test_refusals_name_the_line() -> None:
    with pytest.raises(UnsupportedQueryError) as caught:
        import_text(
            "eql", 'process where\n  process.name : "x" and\n  process.nope : "y"', Path("q.eql")
        )
    assert caught.value.line == 3


def test_cli_imports_eql_and_sigma(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    import yaml

    from rmmdetect.cli import main

    query = tmp_path / "q.eql"
    query.write_text('process where process.name : "x.exe"\n', encoding="utf-8")
    stdout = io.StringIO()
    args = ["import", "--from", "eql", str(query), "--window", "7d", "--tool", "X"]
    assert main(args, stdout=stdout) == 0
    document = yaml.safe_load(stdout.getvalue())
    assert (document["window"], document["tool"]["name"]) == ("7d", "X")
    assert main(["import", "--from", "eql", str(query), "--window", "7x"]) == 1
    query.write_text("process where process.nope : 1\n", encoding="utf-8")
    assert main(["import", "--from", "sigma", str(query)]) == 1
    err = capsys.readouterr().err
    assert "window" in err and "Traceback" not in err
