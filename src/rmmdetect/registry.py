"""The registry of backends: explicit registrations plus the ``rmmdetect.backends`` entry points.

Entry points are read once, on first use. A plugin that fails to load is reported with a
warning on the ``rmmdetect`` logger and left out; it never breaks the other targets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Final

from rmmdetect.backend import Backend
from rmmdetect.errors import UnknownTargetError

__all__ = ["ENTRY_POINT_GROUP", "backend_classes", "get_backend", "register"]

logger = logging.getLogger("rmmdetect")

ENTRY_POINT_GROUP: Final = "rmmdetect.backends"
"""The entry-point group a backend package registers its :class:`Backend` subclass under."""

_explicit: dict[str, type[Backend]] = {}
_discovered: dict[str, type[Backend]] | None = None


def register(backend: type[Backend]) -> type[Backend]:
    """Register a backend class by its ``name``; usable as a class decorator.

    Returns:
        The class, unchanged.
    """
    _explicit[backend.name] = backend
    return backend


def _discover() -> dict[str, type[Backend]]:
    found: dict[str, type[Backend]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
        except Exception as error:
            logger.warning(
                "backend plugin '%s' (%s) failed to load: %s", point.name, point.value, error
            )
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Backend)):
            logger.warning(
                "backend plugin '%s' (%s) is not a Backend subclass", point.name, point.value
            )
            continue
        found[point.name] = loaded
    return found


def backend_classes() -> Mapping[str, type[Backend]]:
    """Return every registered backend class by target name, sorted by name."""
    global _discovered
    if _discovered is None:
        _discovered = _discover()
    merged = {**_discovered, **_explicit}
    return dict(sorted(merged.items()))


def get_backend(name: str) -> Backend:
    """Return an instance of the backend registered as ``name``.

    Raises:
        UnknownTargetError: No backend has that name; the message lists those that do.
    """
    classes = backend_classes()
    if name not in classes:
        raise UnknownTargetError("target", name, classes)
    return classes[name]()
