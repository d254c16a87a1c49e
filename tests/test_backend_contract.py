"""What every registered backend must do, built-in or third-party: the conformance checks."""

from __future__ import annotations

import pytest

import rmmdetect
from rmmdetect import Catalog, Fidelity
from rmmdetect.backend import FIDELITY_KEYS
from rmmdetect.registry import backend_classes

TARGETS = sorted(backend_classes())
FORMATS = [(t, f) for t in TARGETS for f in backend_classes()[t].formats]


@pytest.mark.parametrize("target", TARGETS)
def test_fidelity_table_covers_every_key(target: str) -> None:
    backend = backend_classes()[target]
    missing = [key for key in FIDELITY_KEYS if key not in backend.fidelity]
    assert not missing, f"{target} declares no fidelity for {missing}"
    assert all(isinstance(value, Fidelity) for value in backend.fidelity.values())
    for option in backend.options:
        assert option in backend.fidelity, f"{target} option {option} has no fidelity"


@pytest.mark.parametrize("target", TARGETS)
def test_backend_metadata(target: str) -> None:
    backend = backend_classes()[target]
    assert backend.name == target
    assert backend.default_format in backend.formats
    assert backend.description


@pytest.mark.parametrize(("target", "fmt"), FORMATS, ids=lambda v: str(v))
@pytest.mark.parametrize("with_site", [False, True], ids=["bare", "site"])
def test_every_catalog_rule_renders(
    catalog: Catalog, supremo_site: rmmdetect.Site, target: str, fmt: str, with_site: bool
) -> None:
    site = supremo_site if with_site else None
    for rule in catalog:
        rendering = rmmdetect.convert(rule, target, fmt, site=site, unsupported="collect")
        assert rendering.text.endswith("\n")
        assert rendering.text.strip()


@pytest.mark.parametrize(
    "target", [t for t in TARGETS if "has_regex" in backend_classes()[t].options]
)
def test_has_regex_reads_yes_and_no_words(supremo: rmmdetect.Rule, target: str) -> None:
    default = rmmdetect.render(supremo, target)
    assert rmmdetect.render(supremo, target, has_regex="false") == default
    assert rmmdetect.render(supremo, target, has_regex="no") == default
    assert rmmdetect.render(supremo, target, has_regex="true") == rmmdetect.render(
        supremo, target, has_regex=True
    )
    assert rmmdetect.render(supremo, target, has_regex=True) != default
    with pytest.raises(rmmdetect.RmmdetectError, match="has_regex='maybe'"):
        rmmdetect.render(supremo, target, has_regex="maybe")
