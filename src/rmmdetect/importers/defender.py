"""The Defender XDR columns an imported hunting query may name, and their canonical fields.

Importers are core and never import a backend, so this is the importer's own table; a test
checks that it agrees with the KQL backend's (``rmmdetect_backends.kql.schema.COLUMNS``), so
that every query that backend writes reads back. Where one column stands for several fields
(``FileName`` is both ``file.name`` and ``process.name`` in DeviceProcessEvents), the process
field is read, since the process is what those tables describe.
"""

from __future__ import annotations

from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["CATEGORIES", "COLUMNS", "KNOWN_PROBLEMS"]

CATEGORIES: Final[dict[str, DataCategory]] = {
    "DeviceFileCertificateInfo": DataCategory.FILE_SIGNATURE,
    "DeviceProcessEvents": DataCategory.PROCESS,
    "DeviceNetworkEvents": DataCategory.NETWORK,
}
"""The data category of each table a query may read."""

_COMMON: Final = {
    "Timestamp": "@timestamp",
    "ReportId": "event.id",
    "DeviceId": "host.id",
    "DeviceName": "host.name",
}

COLUMNS: Final[dict[str, dict[str, str]]] = {
    "DeviceFileCertificateInfo": {
        **_COMMON,
        "Signer": "file.code_signature.subject_name",
        "Issuer": "file.code_signature.issuer",
        "SHA1": "file.hash.sha1",
    },
    "DeviceProcessEvents": {
        **_COMMON,
        "AccountName": "user.name",
        "FileName": "process.name",
        "FolderPath": "process.executable",
        "ProcessCommandLine": "process.command_line",
        "InitiatingProcessFileName": "process.parent.name",
        "SHA1": "process.hash.sha1",
        "SHA256": "process.hash.sha256",
        "MD5": "process.hash.md5",
        "ProcessVersionInfoCompanyName": "process.pe.company",
        "ProcessVersionInfoProductName": "process.pe.product",
        "ProcessVersionInfoOriginalFileName": "process.pe.original_file_name",
    },
    "DeviceNetworkEvents": {
        **_COMMON,
        "InitiatingProcessAccountName": "user.name",
        "RemoteUrl": "destination.domain",
        "RemoteIP": "destination.ip",
        "InitiatingProcessFileName": "process.name",
        "InitiatingProcessFolderPath": "process.executable",
        "InitiatingProcessCommandLine": "process.command_line",
        "InitiatingProcessParentFileName": "process.parent.name",
        "InitiatingProcessSHA1": "process.hash.sha1",
        "InitiatingProcessSHA256": "process.hash.sha256",
        "InitiatingProcessMD5": "process.hash.md5",
        "InitiatingProcessVersionInfoCompanyName": "process.pe.company",
        "InitiatingProcessVersionInfoProductName": "process.pe.product",
        "InitiatingProcessVersionInfoOriginalFileName": "process.pe.original_file_name",
    },
}
"""Each table's columns that an imported query may name, and the canonical field of each."""

KNOWN_PROBLEMS: Final[dict[tuple[str, str], str]] = {
    ("DeviceNetworkEvents", "AccountUpn"): (
        "DeviceNetworkEvents has no column AccountUpn (the initiating process's account is "
        "InitiatingProcessAccountUpn), so the query cannot run as published"
    ),
    ("DeviceProcessEvents", "AccountUpn"): (
        "the account's user principal name has no canonical field in rmmdetect.taxonomy"
    ),
    ("DeviceNetworkEvents", "InitiatingProcessAccountUpn"): (
        "the account's user principal name has no canonical field in rmmdetect.taxonomy"
    ),
}
"""Columns that published RMM hunting queries name and that cannot be imported, and why."""
