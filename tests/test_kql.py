"""The KQL backend, checked by golden files and by Microsoft's Kusto.Language analyser."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rmmdetect
from conftest import GOLDEN
from golden_cases import CASES, Case, render_case
from oracles.kusto import KustoAnalyser
from rmmdetect import Rule
from rmmdetect.loader import load_yaml_documents
from rmmdetect.model import Operator

KQL_CASES = [case for case in CASES if case.target == "kql"]
KQL_QUERIES = [case for case in KQL_CASES if case.format == "query"]
KQL_FILES = [case for case in KQL_CASES if case.format != "query"]
SEED_COLUMNS = ["DeviceId", "DeviceName", "FirstSeen", "LastSeen", "Report", "Count"]

# Any text but lone surrogates, which no UTF-8 rule file can hold.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)


def _clean(kusto: KustoAnalyser, query: str) -> None:
    analysis = kusto.analyse(query)
    assert not analysis.errors, analysis.error_report()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_golden(case: Case) -> None:
    expected = (GOLDEN / case.path).read_text(encoding="utf-8")
    assert render_case(case) == expected


@pytest.mark.parametrize("case", KQL_QUERIES, ids=lambda c: c.id)
def test_golden_queries_analyse_clean_with_seed_columns(case: Case, kusto: KustoAnalyser) -> None:
    analysis = kusto.analyse((GOLDEN / case.path).read_text(encoding="utf-8"))
    assert not analysis.errors, analysis.error_report()
    assert [name for name, _ in analysis.columns] == SEED_COLUMNS


def test_query_matches_the_seed(supremo: Rule) -> None:
    query = rmmdetect.render(supremo, "kql")
    assert "let Time_start = now(-5d);" in query
    assert "let Time_end = now();" in query
    assert "| where Timestamp between (Time_start .. Time_end)" in query
    assert "| where Signer has 'Nanosystems S.R.L.'" in query
    assert "Report=make_set(ReportId), Count=count()" in query


@pytest.mark.parametrize("case", KQL_FILES, ids=lambda c: c.id)
def test_sentinel_hunting_is_strict_yaml_with_the_seed_fields(
    case: Case, tmp_path, kusto: KustoAnalyser
) -> None:
    text = (GOLDEN / case.path).read_text(encoding="utf-8")
    path = tmp_path / "hunting.yaml"
    path.write_text(text, encoding="utf-8")
    (document,) = load_yaml_documents(path)  # rejects duplicate keys and bad YAML
    data = document.data
    assert data["id"] == "a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6"
    assert data["name"] == "Remote Management and Monitoring tool - SupRemo - File Signature"
    assert data["requiredDataConnectors"] == [
        {"connectorId": "MicrosoftThreatProtection", "dataTypes": ["DeviceFileCertificateInfo"]}
    ]
    assert data["tactics"] == ["CommandAndControl"]
    assert data["relevantTechniques"] == ["T1219"]
    _clean(kusto, data["query"])


def _rule(supremo: Rule, op: Operator, values: tuple[str, ...], cased: bool = False) -> Rule:
    detection = {
        "field": "file.code_signature.subject_name",
        "op": op.value,
        "values": list(values),
        "cased": cased,
    }
    data = supremo.model_dump(by_alias=True, exclude={"exclusions"})
    return Rule.model_validate({**data, "id": str(uuid.uuid4()), "detection": detection})


@pytest.mark.parametrize("cased", [False, True], ids=["nocase", "cased"])
@pytest.mark.parametrize("count", [1, 3], ids=["one", "anyof"])
@pytest.mark.parametrize("op", list(Operator), ids=str)
def test_every_operator_analyses_clean(
    supremo: Rule, op: Operator, count: int, cased: bool, kusto: KustoAnalyser
) -> None:
    values = tuple(f"Nano{i}" for i in range(count))
    query = rmmdetect.render(_rule(supremo, op, values, cased), "kql")
    analysis = kusto.analyse(query)
    assert not analysis.errors, analysis.error_report()
    assert analysis.string_literals == list(values)


@given(value=TEXT)
def test_any_string_reads_back_unchanged(supremo: Rule, kusto: KustoAnalyser, value: str) -> None:
    rule = _rule(supremo, Operator.HAS, (value,))
    site = rmmdetect.Site(placeholders={"siem_server_ip": value})
    query = rmmdetect.render(rule, "kql")
    analysis = kusto.analyse(query)
    assert not analysis.errors, analysis.error_report()
    assert analysis.string_literals == [value]
    assert [name for name, _ in analysis.columns] == SEED_COLUMNS
    with_site = rmmdetect.render(supremo, "kql", site=site)
    analysis = kusto.analyse(with_site)
    assert not analysis.errors, analysis.error_report()
    assert value in analysis.string_literals


@given(name=TEXT)
def test_any_rule_or_exclusion_name_stays_in_its_comment(
    supremo: Rule, kusto: KustoAnalyser, name: str
) -> None:
    exclusion = supremo.exclusions[0].model_copy(update={"name": name})
    rule = supremo.model_copy(update={"name": name, "exclusions": (exclusion,)})
    site = rmmdetect.Site(placeholders={"legitimate_supremo_msi_hash": "abc"})
    analysis = kusto.analyse(rmmdetect.render(rule, "kql", site=site))
    assert not analysis.errors, analysis.error_report()
    assert [name for name, _ in analysis.columns] == SEED_COLUMNS


def test_exclusion_without_related_table_follows_the_policy(supremo: Rule) -> None:
    exclusion = rmmdetect.model.Exclusion.model_validate(
        {
            "name": "Signed by the approved vendor key",
            "description": "d",
            "condition": {
                "field": "process.code_signature.subject_name",
                "op": "equals",
                "value": "x",
            },
        }
    )
    rule = supremo.model_copy(update={"exclusions": (exclusion,)})
    with pytest.raises(rmmdetect.UnsupportedFeatureError, match=r"process\.code_signature"):
        rmmdetect.render(rule, "kql")
    collected = rmmdetect.convert(rule, "kql", unsupported="collect")
    assert "Signed by the approved vendor key" not in collected.text
    assert [note.kind for note in collected.notes] == [rmmdetect.NoteKind.UNSUPPORTED]
