"""The public surface: ``__all__`` is exactly what the package offers; the wheel ships it all."""

from __future__ import annotations

import configparser
import importlib
import pkgutil
import subprocess
import sys
import types
import zipfile

import pytest

import rmmdetect
from conftest import REPO

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


@pytest.fixture(scope="session")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Build the wheel once, as `pip install .` would, and read what it ships."""
    folder = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder)]
    result = subprocess.run([*command, str(REPO)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr}", pytrace=False)
    (wheel,) = folder.glob("rmmdetect-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    "path",
    [
        "rmmdetect/__init__.py",
        "rmmdetect/py.typed",
        "rmmdetect/catalog/supremo.yml",
        "rmmdetect_backends/__init__.py",
        "rmmdetect_backends/kql/__init__.py",
        "rmmdetect_backends/kql/defender_xdr_schema.json",
    ],
)
def test_the_wheel_ships(wheel_files: dict[str, bytes], path: str) -> None:
    assert path in wheel_files


def test_the_wheel_ships_the_whole_catalog(wheel_files: dict[str, bytes]) -> None:
    shipped = {
        name.rsplit("/", 1)[1] for name in wheel_files if name.startswith("rmmdetect/catalog/")
    }
    in_repo = {path.name for path in (REPO / "rules").glob("*.yml")}
    assert in_repo <= shipped


def test_the_wheel_registers_the_kql_backend_and_the_script(wheel_files: dict[str, bytes]) -> None:
    (name,) = [n for n in wheel_files if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel_files[name].decode())
    assert parser["rmmdetect.backends"]["kql"] == "rmmdetect_backends.kql:KqlBackend"
    assert parser["console_scripts"]["rmmdetect"] == "rmmdetect.cli:main"


def test_the_wheel_ships_no_tests(wheel_files: dict[str, bytes]) -> None:
    assert not [name for name in wheel_files if name.startswith(("tests/", "rules/"))]
