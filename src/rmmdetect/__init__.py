"""rmmdetect: detections of abused Remote Monitoring and Management tools, written once.

A rule is kept once in a typed model (:mod:`rmmdetect.model`) and rendered to every platform by
backends registered under the ``rmmdetect.backends`` entry-point group
(:mod:`rmmdetect.backend` explains how to add one).

Example:
    >>> import rmmdetect
    >>> rule = rmmdetect.load_catalog().get("a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6")
    >>> rule.tool.name
    'SupRemo'
    >>> "Signer has 'Nanosystems S.R.L.'" in rmmdetect.render(rule, "kql")
    True
"""

from rmmdetect.backend import Backend, Fidelity, Note, NoteKind, RenderContext, Rendering
from rmmdetect.errors import (
    CatalogError,
    PlaceholderError,
    Policy,
    RmmdetectError,
    RuleFileError,
    UnknownTargetError,
    UnsupportedFeatureError,
)
from rmmdetect.evaluator import Evaluation, evaluate
from rmmdetect.loader import Catalog, default_catalog_path, load_catalog, load_rule, load_rules
from rmmdetect.model import Rule
from rmmdetect.registry import register
from rmmdetect.rendering import TargetInfo, convert, render, targets
from rmmdetect.site import Site, Unresolved, load_site, resolve

__version__ = "0.1.0"

__all__ = [
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
]
