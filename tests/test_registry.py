"""The backend registry: entry points, explicit registration, broken plugins, unknown names."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any, ClassVar

import pytest

import rmmdetect
from rmmdetect import Backend, RenderContext, Rule, UnknownTargetError, register, registry
from rmmdetect.registry import ENTRY_POINT_GROUP, backend_classes, get_backend

KQL = EntryPoint("kql", "rmmdetect_backends.kql:KqlBackend", ENTRY_POINT_GROUP)
BROKEN = EntryPoint("broken", "rmmdetect_no_such_module:Backend", ENTRY_POINT_GROUP)
NOT_A_BACKEND = EntryPoint("odd", "collections:OrderedDict", ENTRY_POINT_GROUP)
RAISES = EntryPoint("raises", "rmmdetect.registry:no_such_name", ENTRY_POINT_GROUP)


class Echo(Backend):
    name = "echo-test"
    description = "Writes the rule's name."
    formats: ClassVar[Mapping[str, str]] = {"text": "the name"}
    default_format = "text"

    def render(self, rule: Rule, format: str, context: RenderContext) -> str:
        return f"{rule.name}\n"


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the installed entry points, and forget what was discovered, for one test."""

    def install(*points: EntryPoint) -> None:
        def entry_points(*, group: str) -> tuple[EntryPoint, ...]:
            assert group == ENTRY_POINT_GROUP
            return points

        monkeypatch.setattr(registry, "entry_points", entry_points)
        monkeypatch.setattr(registry, "_discovered", None)

    monkeypatch.setattr(registry, "_explicit", {})
    return install


@pytest.mark.parametrize(
    ("point", "says"),
    [
        (BROKEN, "backend plugin 'broken' (rmmdetect_no_such_module:Backend) failed to load"),
        (RAISES, "backend plugin 'raises' (rmmdetect.registry:no_such_name) failed to load"),
        (NOT_A_BACKEND, "backend plugin 'odd' (collections:OrderedDict) is not a Backend"),
    ],
    ids=["import-fails", "name-missing", "not-a-backend"],
)
def test_a_broken_plugin_warns_and_the_rest_still_work(
    plugins: Any, caplog: pytest.LogCaptureFixture, point: EntryPoint, says: str
) -> None:
    plugins(point, KQL)
    with caplog.at_level(logging.WARNING, logger="rmmdetect"):
        assert list(rmmdetect.targets()) == ["kql"]
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("rmmdetect", logging.WARNING)
    assert says in record.getMessage()
    with pytest.raises(UnknownTargetError, match=f"unknown target '{point.name}'"):
        get_backend(point.name)


def test_entry_points_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def entry_points(*, group: str) -> tuple[EntryPoint, ...]:
        calls.append(group)
        return (KQL,)

    monkeypatch.setattr(registry, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_discovered", None)
    for _ in range(3):
        assert "kql" in backend_classes()
    assert calls == [ENTRY_POINT_GROUP]


def test_unknown_target_suggests_the_closest(plugins: Any) -> None:
    plugins(KQL)
    with pytest.raises(UnknownTargetError) as caught:
        get_backend("kq1")
    assert str(caught.value) == "unknown target 'kq1' (did you mean 'kql'?); allowed: kql"
    assert caught.value.choices == ("kql",)


def test_no_target_at_all_says_so(plugins: Any) -> None:
    plugins()
    with pytest.raises(UnknownTargetError, match="no target is registered"):
        get_backend("kql")


def test_register_an_explicit_class(plugins: Any, supremo: Rule) -> None:
    plugins(KQL)
    assert register(Echo) is Echo
    assert list(rmmdetect.targets()) == ["echo-test", "kql"]
    assert isinstance(get_backend("echo-test"), Echo)
    rendering = rmmdetect.convert(supremo, "echo-test")
    assert (rendering.text, rendering.format) == (f"{supremo.name}\n", "text")


def test_an_explicit_class_wins_over_an_entry_point_of_the_same_name(plugins: Any) -> None:
    class Kql(Echo):
        name = "kql"

    plugins(KQL)
    register(Kql)
    assert backend_classes()["kql"] is Kql
