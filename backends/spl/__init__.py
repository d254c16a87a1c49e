"""The SPL backend: Splunk searches, savedsearches.conf stanzas and ESCU detections over Sysmon.

SPL has no offline parser or engine, so this backend's guarantees are golden files and the
exact escaping of :mod:`rmmdetect_backends.spl.quoting`, unit- and property-tested; the ESCU
format is also validated by Splunk's ``contentctl``.
"""

from rmmdetect_backends.spl.backend import SplBackend

__all__ = ["SplBackend"]
