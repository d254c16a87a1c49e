"""The EQL backend: Elastic Security rules over Elastic Defend events."""

from rmmdetect_backends.eql.backend import EqlBackend

__all__ = ["EqlBackend"]
