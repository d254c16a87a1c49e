"""The Kusto oracle itself: Kusto.Language accepts, rejects and decodes as documented.

These tests pin the behaviour that the KQL backend's tests rely on, in particular how string
literals are decoded, so that a change of analyser version shows up here first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.oracles.kusto import KustoAnalyser

CERTIFICATE_HUNT = (
    "let Time_start = now(-5d); let Time_end = now(); DeviceFileCertificateInfo"
    " | where Timestamp between (Time_start..Time_end)"
    " | where Signer has 'Nanosystems S.R.L.'"
    " | summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp),"
    " Report=make_set(ReportId), Count=count() by DeviceId, DeviceName"
)


def test_valid_query_has_no_errors_and_typed_result_columns(kusto: KustoAnalyser) -> None:
    analysis = kusto.analyse(CERTIFICATE_HUNT)

    assert analysis.errors == [], analysis.error_report()
    assert analysis.columns == [
        ("DeviceId", "string"),
        ("DeviceName", "string"),
        ("FirstSeen", "datetime"),
        ("LastSeen", "datetime"),
        ("Report", "dynamic"),
        ("Count", "long"),
    ]
    assert analysis.string_literals == ["Nanosystems S.R.L."]


def test_unknown_column_is_ks142_at_its_span(kusto: KustoAnalyser) -> None:
    query = "DeviceFileCertificateInfo | where Signerr has 'x'"

    (error,) = kusto.analyse(query).errors

    assert error.code == "KS142"
    assert query[error.start : error.start + error.length] == "Signerr"


def test_unknown_table_is_an_error(kusto: KustoAnalyser) -> None:
    (error,) = kusto.analyse("DeviceFileCertificateInfos | take 1").errors

    assert error.code == "KS204"
    assert (error.start, error.length) == (0, len("DeviceFileCertificateInfos"))


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        pytest.param(
            "DeviceNetworkEvents",
            [
                ("Timestamp", "datetime"),
                ("RemoteIP", "string"),
                ("RemotePort", "int"),
                ("InitiatingProcessId", "long"),
                ("IsInitiatingProcessRemoteSession", "bool"),
            ],
            id="datetime-string-int-long-bool",
        ),
        pytest.param(
            "DeviceTvmSecureConfigurationAssessment",
            [("ConfigurationImpact", "real"), ("Context", "dynamic")],
            id="real-dynamic",
        ),
    ],
)
def test_schema_types_reach_the_analyser(
    kusto: KustoAnalyser, table: str, columns: list[tuple[str, str]]
) -> None:
    names = ", ".join(name for name, _ in columns)

    analysis = kusto.analyse(f"{table} | project {names} | take 1")

    assert analysis.errors == [], analysis.error_report()
    assert analysis.columns == columns


def test_spans_count_code_points_not_utf16_units(kusto: KustoAnalyser) -> None:
    query = "DeviceInfo | where DeviceName == '😀😀' and Nope == 1"

    (error,) = kusto.analyse(query).errors

    assert query[error.start : error.start + error.length] == "Nope"


# Each case: literal as written in KQL, decoded value. Read these as the contract of the KQL
# string escaper: which spellings Kusto.Language accepts and what they mean.
DECODED_LITERALS = [
    pytest.param(r"'a\'b'", "a'b", id="single-escaped-quote"),
    pytest.param(r'"x\"y"', 'x"y', id="double-escaped-quote"),
    pytest.param("'a\"b'", 'a"b', id="single-raw-double-quote"),
    pytest.param('"a\'b"', "a'b", id="double-raw-single-quote"),
    pytest.param(r"'c:\\path'", "c:\\path", id="escaped-backslash"),
    pytest.param(r"'\n\t\r'", "\n\t\r", id="newline-tab-cr"),
    pytest.param(r"'\a\b\f\v'", "\a\b\f\v", id="bell-backspace-formfeed-vtab"),
    pytest.param(r"'\u00e9\u00E9'", "éé", id="u-four-hex-digits"),
    pytest.param(r"'\ud83d\ude00'", "😀", id="u-surrogate-pair"),
    pytest.param(r"'\x41'", "A", id="x-two-hex-digits"),
    pytest.param(r"'\101\0'", "A\0", id="octal"),
    pytest.param("'😀 é \t \u2028'", "😀 é \t \u2028", id="raw-non-bmp-and-tab"),
    pytest.param(r"@'c:\path\'", "c:\\path\\", id="verbatim-backslash"),
    pytest.param("@'it''s'", "it's", id="verbatim-doubled-quote"),
    pytest.param('@"a""b"', 'a"b', id="verbatim-double-doubled-quote"),
    pytest.param(r"h'a\'b'", "a'b", id="obfuscated"),
    pytest.param(r"h@'c:\p'", "c:\\p", id="obfuscated-verbatim"),
    pytest.param("```one\n'two' \\n```", "one\n'two' \\n", id="multi-line-no-escapes"),
]


@pytest.mark.parametrize(("literal", "value"), DECODED_LITERALS)
def test_string_literal_decodes(kusto: KustoAnalyser, literal: str, value: str) -> None:
    analysis = kusto.analyse(f"print v={literal}")

    assert analysis.errors == [], analysis.error_report()
    assert analysis.string_literals == [value]
    assert analysis.columns == [("v", "string")]


def test_doubled_quote_outside_verbatim_is_two_adjacent_literals(kusto: KustoAnalyser) -> None:
    analysis = kusto.analyse("print v='it''s'")

    assert analysis.errors == []
    assert analysis.string_literals == ["it", "s"]


def test_big_u_escape_is_lexed_but_not_decoded(kusto: KustoAnalyser) -> None:
    # Kusto.Language 12.4.1 accepts \U plus 8 hex digits but decodes it as the letter U.
    analysis = kusto.analyse(r"print v='\U0001F600'")

    assert analysis.errors == []
    assert analysis.string_literals == ["U0001F600"]


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("'a\nb'", id="raw-newline"),
        pytest.param("'a\rb'", id="raw-carriage-return"),
        pytest.param("@'a\nb'", id="verbatim-raw-newline"),
        pytest.param(r"'\q'", id="unknown-escape"),
        pytest.param(r"'\/'", id="escaped-slash"),
        pytest.param(r"'\8'", id="escaped-eight"),
        pytest.param(r"'\x4'", id="x-one-digit"),
        pytest.param(r"'\u41'", id="u-two-digits"),
        pytest.param(r"'\u{41}'", id="u-braces"),
        pytest.param("'a\\'", id="trailing-backslash"),
        pytest.param("```a", id="unterminated-multi-line"),
    ],
)
def test_malformed_string_literal_is_an_error(kusto: KustoAnalyser, literal: str) -> None:
    assert kusto.analyse(f"print v={literal}").errors != []


def test_string_literals_come_in_source_order_from_every_context(kusto: KustoAnalyser) -> None:
    analysis = kusto.analyse(
        "DeviceProcessEvents | where FileName in~ ('a', \"b\")"
        " | where ProcessCommandLine has_any (dynamic(['c'])) | extend d = strcat(@'d', 'e')"
    )

    assert analysis.errors == [], analysis.error_report()
    assert analysis.string_literals == ["a", "b", "c", "d", "e"]


def test_any_text_round_trips_through_the_process(kusto: KustoAnalyser) -> None:
    text = "line one\nline \u2028two\r\n\u0000 \U0010ffff \ufeff 日本"

    analysis = kusto.analyse(f"print v=```{text}```")

    assert analysis.string_literals == [text]
