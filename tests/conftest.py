"""Shared fixtures: the bundled catalog loaded once, the Kusto oracle, hypothesis profiles.

Hypothesis runs a fast profile by default (CI); set ``RMMDETECT_HYPOTHESIS=deep`` for a long run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import rmmdetect
from rmmdetect import Catalog, Rule

pytest_plugins = ["oracles.conftest_kusto"]

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
SUPREMO_ID = "a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6"

settings.register_profile(
    "fast", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("RMMDETECT_HYPOTHESIS", "fast"))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return rmmdetect.load_catalog(REPO / "rules")


@pytest.fixture(scope="session")
def supremo(catalog: Catalog) -> Rule:
    return catalog.get(SUPREMO_ID)


@pytest.fixture(scope="session")
def supremo_site() -> rmmdetect.Site:
    return rmmdetect.load_site(REPO / "examples" / "site.yml")
