"""Pytest plugin providing the session-wide ``kusto`` fixture.

Register it from ``tests/conftest.py``::

    pytest_plugins = ["tests.oracles.conftest_kusto"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .kusto import KustoAnalyser, KustoOracleError, installation_problem

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def kusto() -> Iterator[KustoAnalyser]:
    """Kusto.Language over the Defender XDR schema, one Node process for the whole session.

    Fails, never skips, when Node or the npm package is missing: a skipped oracle is a check
    that silently did not run.
    """
    problem = installation_problem()
    if problem is not None:
        pytest.fail(f"Kusto oracle unavailable: {problem}", pytrace=False)
    analyser = KustoAnalyser()
    try:
        analyser.analyse("print 1")
    except KustoOracleError as exc:
        analyser.close()
        pytest.fail(f"Kusto oracle unavailable: {exc}", pytrace=False)
    yield analyser
    analyser.close()
