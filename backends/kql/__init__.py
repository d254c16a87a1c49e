"""The KQL backend: Microsoft Defender XDR Advanced Hunting and Microsoft Sentinel."""

from rmmdetect_backends.kql.backend import KqlBackend

__all__ = ["KqlBackend"]
