"""Where each canonical field lives in the Defender XDR Advanced Hunting tables.

The column types come from ``defender_xdr_schema.json`` beside this module (38 Advanced Hunting
tables, as documented at learn.microsoft.com/defender-xdr/advanced-hunting-schema-tables).
Every column named here is checked against that file when the module loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["COLUMNS", "JOINS", "SCHEMA", "TABLES", "Join", "load_schema"]


def load_schema() -> dict[str, dict[str, str]]:
    """Return the Defender XDR schema: each table's columns and their Kusto types."""
    text = resources.files(__package__).joinpath("defender_xdr_schema.json").read_text("utf-8")
    schema: dict[str, dict[str, str]] = json.loads(text)
    return schema


SCHEMA: Final = load_schema()

TABLES: Final[dict[DataCategory, str]] = {
    DataCategory.FILE_SIGNATURE: "DeviceFileCertificateInfo",
    DataCategory.PROCESS: "DeviceProcessEvents",
    DataCategory.NETWORK: "DeviceNetworkEvents",
}
"""The table a rule of each data category reads."""

_COMMON: Final = {
    "@timestamp": "Timestamp",
    "event.id": "ReportId",
    "host.id": "DeviceId",
    "host.name": "DeviceName",
}

COLUMNS: Final[dict[str, dict[str, str]]] = {
    "DeviceFileCertificateInfo": {
        **_COMMON,
        "file.code_signature.subject_name": "Signer",
        "file.code_signature.issuer": "Issuer",
        "file.hash.sha1": "SHA1",
    },
    "DeviceProcessEvents": {
        **_COMMON,
        "user.name": "AccountName",
        "file.name": "FileName",
        "file.path": "FolderPath",
        "file.hash.sha1": "SHA1",
        "file.hash.sha256": "SHA256",
        "file.hash.md5": "MD5",
        "process.name": "FileName",
        "process.executable": "FolderPath",
        "process.command_line": "ProcessCommandLine",
        "process.parent.name": "InitiatingProcessFileName",
        "process.hash.sha1": "SHA1",
        "process.hash.sha256": "SHA256",
        "process.hash.md5": "MD5",
        "process.pe.company": "ProcessVersionInfoCompanyName",
        "process.pe.product": "ProcessVersionInfoProductName",
        "process.pe.original_file_name": "ProcessVersionInfoOriginalFileName",
    },
    "DeviceNetworkEvents": {
        **_COMMON,
        "user.name": "InitiatingProcessAccountName",
        "destination.domain": "RemoteUrl",
        "destination.ip": "RemoteIP",
        "file.hash.sha1": "InitiatingProcessSHA1",
        "process.name": "InitiatingProcessFileName",
        "process.executable": "InitiatingProcessFolderPath",
        "process.command_line": "InitiatingProcessCommandLine",
        "process.parent.name": "InitiatingProcessParentFileName",
        "process.hash.sha1": "InitiatingProcessSHA1",
        "process.hash.sha256": "InitiatingProcessSHA256",
        "process.hash.md5": "InitiatingProcessMD5",
        "process.pe.company": "InitiatingProcessVersionInfoCompanyName",
        "process.pe.product": "InitiatingProcessVersionInfoProductName",
        "process.pe.original_file_name": "InitiatingProcessVersionInfoOriginalFileName",
    },
}
"""Each table's column for each canonical field it carries."""


@dataclass(frozen=True, slots=True)
class Join:
    """A related table reached from a rule's table through a shared key.

    Attributes:
        table: The related table.
        key: The key column in the rule's table.
        foreign_key: The same key in the related table.
    """

    table: str
    key: str
    foreign_key: str


JOINS: Final[dict[str, tuple[Join, ...]]] = {
    "DeviceFileCertificateInfo": (
        Join("DeviceProcessEvents", "SHA1", "SHA1"),
        Join("DeviceNetworkEvents", "SHA1", "InitiatingProcessSHA1"),
    ),
}
"""The related tables an exclusion may reach, in order of preference.

A certificate row is the file with that SHA1; the process events of the same file share it,
and the network events that file's process made carry it as InitiatingProcessSHA1.
"""


def _check() -> None:
    for table, columns in COLUMNS.items():
        for column in columns.values():
            if column not in SCHEMA[table]:
                raise RuntimeError(f"{table} has no column {column}")
    for table, joins in JOINS.items():
        for join in joins:
            if join.key not in SCHEMA[table] or join.foreign_key not in SCHEMA[join.table]:
                raise RuntimeError(f"join {table} -> {join.table} names a missing column")


_check()
