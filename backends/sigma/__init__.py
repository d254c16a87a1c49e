"""The Sigma backend: Sigma rules and Sigma filters for Windows Sysmon log sources."""

from rmmdetect_backends.sigma.backend import SigmaBackend, file_name

__all__ = ["SigmaBackend", "file_name"]
