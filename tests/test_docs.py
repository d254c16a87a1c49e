"""The examples in the public docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rmmdetect

MODULES = sorted(
    {"rmmdetect", *(f"rmmdetect.{m.name}" for m in pkgutil.iter_modules(rmmdetect.__path__))}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_examples_exist() -> None:
    attempted = 0
    for name in MODULES:
        attempted += doctest.testmod(importlib.import_module(name)).attempted
    assert attempted >= 8
