"""The reference evaluator on hand-built events, and properties of its operators.

The expected results here are derived from the semantics stated in the docstrings of
:mod:`rmmdetect.model` and :mod:`rmmdetect.evaluator`, not from any backend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmmdetect import RmmdetectError, Rule, Site, evaluate, resolve
from rmmdetect.evaluator import matches, term_match
from rmmdetect.model import Match, Not, Operator

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SIGNER = "file.code_signature.subject_name"
WORD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def event(signer: str | None = "Nanosystems S.R.L.", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@timestamp": NOW - timedelta(hours=1),
        "host.id": "d1",
        "host.name": "pc1",
        "event.id": "r1",
    }
    if signer is not None:
        base[SIGNER] = signer
    base.update({name.replace("__", "."): value for name, value in fields.items()})
    return base


def selected(rule: Rule, *events: dict[str, Any]) -> list[bool]:
    """Tell, event by event, whether the rule selects it."""
    return [bool(evaluate(rule, [e], now=NOW).selected) for e in events]


@pytest.fixture(scope="module")
def bare(supremo: Rule) -> Rule:
    """The seed without exclusions: detection, window and aggregation only."""
    return supremo.model_copy(update={"exclusions": ()})


@pytest.mark.parametrize(
    ("signer", "hit"),
    [
        ("Nanosystems S.R.L.", True),
        ("NANOSYSTEMS s.r.l.", True),
        ("Nanosystems S.r.l.", True),
        ("nanosystems s.r.l.", True),
        # Near misses: the value is not in the text at all.
        ("Nanosystems S.R.L", False),
        ("NanosystemsX S.R.L.", False),
        ("Nano systems S.R.L.", False),
        ("Nanosystems  S.R.L.", False),
        ("Nanosystems SRL", False),
        # Start of the value: it starts with a letter, so it must not follow a letter or digit.
        ("XNanosystems S.R.L.", False),
        ("1Nanosystems S.R.L.", False),
        ("(Nanosystems S.R.L.)", True),
        ('"Nanosystems S.R.L.", Milano', True),
        ("CN=Nanosystems S.R.L., O=Nanosystems S.R.L.", True),
        ("_Nanosystems S.R.L.", True),
        ("éNanosystems S.R.L.", True),
        # End of the value: it ends with '.', not a letter or digit, so anything may follow.
        ("Nanosystems S.R.L.X", True),
        ("Nanosystems S.R.L.1", True),
    ],
)
def test_the_seed_detection(bare: Rule, signer: str, hit: bool) -> None:
    assert selected(bare, event(signer)) == [hit]


@pytest.mark.parametrize(
    ("text", "needle", "hit"),
    [
        ("Nanosystems", "Nanosystems", True),
        ("Nanosystemsx", "Nanosystems", False),
        ("Nanosystems9", "Nanosystems", False),
        ("xNanosystems", "Nanosystems", False),
        ("Nanosystems.", "Nanosystems", True),
        ("Nanosystems-it", "Nanosystems", True),
        ("Nanosystems_", "Nanosystems", True),
        ("Nanosystemsé", "Nanosystems", True),
        ("a system b", "system", True),
        ("Nanosystems S.R.L.", "system", False),
        ("Nanosystems S.R.L.", "S.R.L", True),
        ("Nanosystems S.R.L.", "R.L.", True),
        ("Nanosystems S.R.L.", ".R", True),
        ("Nanosystems S.R.L.", "S.R.L.X", False),
        ("x.exe", ".exe", True),
        ("xexe", ".exe", False),
    ],
)
def test_term_boundaries(text: str, needle: str, hit: bool) -> None:
    assert term_match(text, needle) is hit


@pytest.mark.parametrize(
    ("stamp", "hit"),
    [
        (NOW, True),
        (NOW - timedelta(days=5), True),
        (NOW - timedelta(days=5, microseconds=1), False),
        (NOW + timedelta(microseconds=1), False),
        (NOW - timedelta(days=2), True),
        ((NOW - timedelta(days=5)).isoformat(), True),
        ((NOW - timedelta(days=5)).replace(tzinfo=None), True),
        ("2026-12-03T13:00:00+02:00", True),
        ("2026-12-03T13:00:00+00:00", False),
        ("not a time", False),
        (None, False),
    ],
    ids=[
        "now",
        "exactly-window-start",
        "just-before-window",
        "future",
        "inside",
        "iso-string",
        "naive-is-utc",
        "other-zone-inside",
        "other-zone-future",
        "unreadable",
        "missing",
    ],
)
def test_window_edges(bare: Rule, stamp: Any, hit: bool) -> None:
    subject = event()
    if stamp is None:
        del subject["@timestamp"]
    else:
        subject["@timestamp"] = stamp
    assert selected(bare, subject) == [hit]


def test_missing_fields(bare: Rule) -> None:
    assert selected(bare, event(None), event(None, process__name="Nanosystems S.R.L.")) == [
        False,
        False,
    ]
    assert selected(bare, event(signer=None) | {SIGNER: None}) == [False]


MSI_HASH = "3f786850e387550fdab836ed7e6dc881de23001b"
UPDATE_HASH = "89e6c98d92887913cadf06b2adb97f26cde4849b"
EXCLUDED = [
    (
        "Legitimate SupRemo Agent Installation via MSI",
        {"process.name": "msiexec.exe", "file.hash.sha1": MSI_HASH},
        {"process.name": "msiexec.exe", "file.hash.sha1": UPDATE_HASH},
    ),
    (
        "Scheduled Job for System Monitoring via SupRemo",
        {"process.name": "sremo.exe", "event.id": "7301"},
        {"process.name": "sremo.exe", "event.id": "73011"},
    ),
    (
        "Admin Uses SupRemo to Remotely Reboot a Server",
        {"process.name": "SREMO.EXE", "event.id": "7302"},
        {"process.name": "msiexec.exe", "event.id": "7302"},
    ),
    (
        "SupRemo Used for Software Deployment",
        {"process.name": "sremo.exe", "file.hash.sha1": UPDATE_HASH.upper()},
        {"process.name": "sremo.exe", "file.hash.sha1": MSI_HASH},
    ),
    (
        "SupRemo Integration with SIEM for Log Collection",
        {"process.name": "sremo.exe", "destination.ip": "10.20.30.41"},
        {"process.name": "sremo.exe", "destination.ip": "10.20.30.4"},
    ),
]


@pytest.mark.parametrize(("name", "hit", "near"), EXCLUDED, ids=[x[0] for x in EXCLUDED])
def test_each_exclusion_removes_exactly_its_event(
    supremo: Rule, supremo_site: Site, name: str, hit: dict[str, Any], near: dict[str, Any]
) -> None:
    rule = resolve(supremo, supremo_site, "fail").rule
    removed, kept = event() | hit, event() | near
    result = evaluate(rule, [removed, kept], now=NOW)
    assert result.selected == (removed, kept)
    assert result.excluded == ((name, removed),)
    assert result.kept == (kept,)


def test_every_exclusion_is_tested(supremo: Rule) -> None:
    assert [x.name for x in supremo.exclusions] == [name for name, _, _ in EXCLUDED]


def test_an_unresolved_placeholder_is_an_error(supremo: Rule) -> None:
    with pytest.raises(RmmdetectError, match=r"\{\{legitimate_supremo_msi_hash\}\}.*resolve"):
        evaluate(supremo, [event(process__name="msiexec.exe", file__hash__sha1="ab")], now=NOW)


def test_aggregation_rows(bare: Rule) -> None:
    day = timedelta(days=1)
    events = [
        event(**{"@timestamp": NOW - 3 * day, "event.id": "r1"}),
        event(**{"@timestamp": (NOW - day).isoformat(), "event.id": "r2"}),
        event(**{"@timestamp": NOW - 2 * day, "event.id": "r1"}),
        event(**{"@timestamp": NOW - day, "host.id": "d2", "host.name": "pc2", "event.id": "r9"}),
        event(**{"@timestamp": NOW - day, "host.id": "d0"}) | {"host.name": None},
        event(**{"@timestamp": NOW - 6 * day, "event.id": "old"}),
        event("Other Ltd", **{"event.id": "other"}),
    ]
    result = evaluate(bare, events, now=NOW)
    assert len(result.selected) == 5
    assert result.rows == (
        {
            "host.id": "d1",
            "host.name": "pc1",
            "FirstSeen": NOW - 3 * day,
            "LastSeen": NOW - day,
            "Report": ["r1", "r2"],
            "Count": 3,
        },
        {
            "host.id": "d2",
            "host.name": "pc2",
            "FirstSeen": NOW - day,
            "LastSeen": NOW - day,
            "Report": ["r9"],
            "Count": 1,
        },
    )


# Properties. Letters, digits, punctuation and a few non-ASCII letters whose case folds; no
# braces, so that no value is read as a placeholder.
ALPHABET = "aAbB1Z .-_éÉİß"
TEXT = st.text(ALPHABET, max_size=12)
VALUE = st.text(ALPHABET, min_size=1, max_size=6)


def brute_term_match(text: str, needle: str, cased: bool) -> bool:
    """The model's definition of ``has``, position by position."""
    if not cased:
        text, needle = text.lower(), needle.lower()
    size = len(needle)
    for i in range(len(text) - size + 1):
        if text[i : i + size] != needle:
            continue
        starts_clear = needle[0] not in WORD or i == 0 or text[i - 1] not in WORD
        ends_clear = needle[-1] not in WORD or i + size == len(text) or text[i + size] not in WORD
        if starts_clear and ends_clear:
            return True
    return False


@st.composite
def text_and_needle(draw: st.DrawFn) -> tuple[str, str]:
    text = draw(TEXT)
    if text and draw(st.booleans()):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        return text, text[start:end]
    return text, draw(VALUE)


@given(pair=text_and_needle(), cased=st.booleans())
def test_term_match_is_the_models_definition(pair: tuple[str, str], cased: bool) -> None:
    text, needle = pair
    assert term_match(text, needle, cased) is brute_term_match(text, needle, cased)


def _match(op: Operator, values: tuple[str, ...], cased: bool = False) -> Match:
    return Match(field="process.name", op=op, values=values, cased=cased)


@given(text=TEXT, value=VALUE)
def test_case_insensitive_equals_ignores_lowering(text: str, value: str) -> None:
    expected = text.lower() == value.lower()
    for t in (text, text.lower()):
        for v in (value, value.lower()):
            assert matches(_match(Operator.EQUALS, (v,)), {"process.name": t}) is expected


@given(
    text=TEXT,
    values=st.lists(VALUE, min_size=1, max_size=4),
    op=st.sampled_from(Operator),
    cased=st.booleans(),
)
def test_any_of_is_the_or_of_single_values(
    text: str, values: list[str], op: Operator, cased: bool
) -> None:
    subject = {"process.name": text}
    singles = [matches(_match(op, (v,), cased), subject) for v in values]
    assert matches(_match(op, tuple(values), cased), subject) is any(singles)


@given(text=st.none() | TEXT, value=VALUE, op=st.sampled_from(Operator), cased=st.booleans())
def test_double_negation_changes_nothing(
    text: str | None, value: str, op: Operator, cased: bool
) -> None:
    subject = {} if text is None else {"process.name": text}
    condition = _match(op, (value,), cased)
    assert matches(Not(not_=Not(not_=condition)), subject) is matches(condition, subject)
    assert matches(Not(not_=condition), subject) is not matches(condition, subject)
