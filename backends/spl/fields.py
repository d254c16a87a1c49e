r"""Where each canonical field lives in Sysmon events, as the Splunk Add-on for Sysmon has them.

Every rule reads the Sysmon channel, ``source="XmlWinEventLog:Microsoft-Windows-Sysmon/
Operational"``, one event code per data category. The field names are those listed for the
add-on (Splunkbase app 5709) in the data sources of Splunk's security_content repository
(``data_sources/sysmon_eventid_{1,3,7}.yml``): the raw Sysmon fields (``Image``,
``Signature``, ...) plus what the add-on derives from them (``process_name`` from ``Image``,
``MD5``/``SHA1``/``SHA256`` from ``Hashes``, ``RecordID`` from ``EventRecordID``).

Choices:

* ``host.id`` and ``host.name`` both map to Splunk's ``host``: Sysmon has no separate device
  identifier, so a rule grouped by both groups by ``host`` once.
* ``network`` reads EventCode 3 (a network connection), which carries the process and both
  ``DestinationIp`` and ``DestinationHostname``; EventCode 22 (DNS) has no destination IP.
* ``file_signature`` reads EventCode 7 (image loaded): ``file.*`` is the loaded image
  (``ImageLoaded``, its hashes and ``Signature``), ``process.*`` the process that loaded it.
* ``user.name`` maps to nothing: Sysmon's ``User`` is ``DOMAIN\name``, not a user name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["SOURCE", "SOURCES", "Source"]

SOURCE: Final = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
"""The ``source`` of Sysmon events collected by a Splunk forwarder with ``renderXml = true``."""


@dataclass(frozen=True, slots=True)
class Source:
    """The Sysmon events a data category reads and their fields.

    Attributes:
        event_code: The Sysmon event id (Splunk's ``EventCode``).
        data_source: The security_content data source name, e.g. ``Sysmon EventID 7``.
        fields: The Splunk field for each canonical field the events carry.
    """

    event_code: int
    data_source: str
    fields: dict[str, str]

    def describe(self) -> str:
        """Return e.g. ``Sysmon EventCode 7`` for messages."""
        return f"Sysmon EventCode {self.event_code}"


_COMMON: Final = {
    "@timestamp": "_time",
    "event.id": "RecordID",
    "host.id": "host",
    "host.name": "host",
}

SOURCES: Final[dict[DataCategory, Source]] = {
    DataCategory.FILE_SIGNATURE: Source(
        7,
        "Sysmon EventID 7",
        {
            **_COMMON,
            "file.code_signature.subject_name": "Signature",
            "file.path": "ImageLoaded",
            "file.hash.md5": "MD5",
            "file.hash.sha1": "SHA1",
            "file.hash.sha256": "SHA256",
            "process.name": "process_name",
            "process.executable": "Image",
        },
    ),
    DataCategory.PROCESS: Source(
        1,
        "Sysmon EventID 1",
        {
            **_COMMON,
            "file.name": "process_name",
            "file.path": "Image",
            "file.hash.md5": "MD5",
            "file.hash.sha1": "SHA1",
            "file.hash.sha256": "SHA256",
            "process.name": "process_name",
            "process.executable": "Image",
            "process.command_line": "CommandLine",
            "process.parent.name": "parent_process_name",
            "process.hash.md5": "MD5",
            "process.hash.sha1": "SHA1",
            "process.hash.sha256": "SHA256",
            "process.pe.company": "Company",
            "process.pe.product": "Product",
            "process.pe.original_file_name": "OriginalFileName",
        },
    ),
    DataCategory.NETWORK: Source(
        3,
        "Sysmon EventID 3",
        {
            **_COMMON,
            "destination.domain": "DestinationHostname",
            "destination.ip": "DestinationIp",
            "process.name": "process_name",
            "process.executable": "Image",
        },
    ),
}
"""The events and fields of each data category."""
