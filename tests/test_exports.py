"""The public surface: ``rmmdetect.__all__`` is exactly what the package offers, nothing leaks."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import rmmdetect

PUBLIC = {
    "Backend",
    "Catalog",
    "CatalogError",
    "Evaluation",
    "Fidelity",
    "Note",
    "NoteKind",
    "PlaceholderError",
    "Policy",
    "RenderContext",
    "Rendering",
    "RmmdetectError",
    "Rule",
    "RuleFileError",
    "Site",
    "TargetInfo",
    "UnknownTargetError",
    "Unresolved",
    "UnsupportedFeatureError",
    "convert",
    "default_catalog_path",
    "evaluate",
    "load_catalog",
    "load_rule",
    "load_rules",
    "load_site",
    "register",
    "render",
    "resolve",
    "targets",
}
"""The reviewed surface: a name added to or dropped from ``__all__`` must be added here too."""

MODULES = sorted(
    f"rmmdetect.{m.name}" for m in pkgutil.iter_modules(rmmdetect.__path__) if m.name[0] != "_"
)


def test_all_is_the_reviewed_surface() -> None:
    assert sorted(rmmdetect.__all__) == sorted(PUBLIC)
    assert len(rmmdetect.__all__) == len(set(rmmdetect.__all__))


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_is_importable_and_no_module(name: str) -> None:
    value = getattr(rmmdetect, name)
    assert not isinstance(value, types.ModuleType)
    namespace: dict[str, object] = {}
    exec(f"from rmmdetect import {name}", namespace)
    assert namespace[name] is value


def test_all_names_no_private_name() -> None:
    assert not [name for name in rmmdetect.__all__ if name.startswith("_")]


def test_no_public_name_outside_all() -> None:
    # Submodules become attributes once imported; they are reached by their own path.
    for module in MODULES:
        importlib.import_module(module)
    leaked = {
        name
        for name, value in vars(rmmdetect).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert leaked == set(rmmdetect.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from rmmdetect import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(rmmdetect.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_each_module_all_names_what_it_defines(name: str) -> None:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    assert [n for n in declared if not hasattr(module, n)] == []
    defined = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", None) == name
    }
    assert defined <= set(declared), f"{name} defines public names missing from __all__"
