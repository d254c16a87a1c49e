"""Where each canonical field lives in the Sigma taxonomy, one declarative table per category.

Each data category reads one Sigma log source; the field names are those of the Sigma taxonomy
for that source (SigmaHQ's ``sigmahq_taxonomy.json``, the names Sysmon gives its event fields):

* ``file_signature``: ``{product: windows, category: image_load}`` (Sysmon event 7). The loaded
  module is the file: its signer is ``Signature``, its path ``ImageLoaded``, its hashes
  ``Hashes``; the process that loaded it is ``Image``.
* ``process``: ``{product: windows, category: process_creation}`` (Sysmon event 1). The
  process's executable is ``Image`` and its version info ``Company``, ``Product`` and
  ``OriginalFileName``; ``Hashes`` are its executable's.
* ``network``: ``{product: windows, category: network_connection}`` (Sysmon event 3).

A field missing from a category's table has no Sigma field there (for example ``event.id``,
which is the platform's record id, not Sysmon's ``EventID``); the backend reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["FIELDS", "FILE_PREFIXES", "LOGSOURCES", "Kind", "SigmaField"]


class Kind(StrEnum):
    r"""How a canonical field's value is found in its Sigma field.

    Attributes:
        VALUE: The Sigma field holds the value itself.
        BASENAME: The Sigma field holds a full path whose last element is the value, as
            ``Image`` holds ``C:\Windows\System32\msiexec.exe`` for ``msiexec.exe``.
        HASH: The Sigma field ``Hashes`` holds ``ALGO=value`` pairs, such as ``SHA1=...``.
    """

    VALUE = "value"
    BASENAME = "basename"
    HASH = "hash"


@dataclass(frozen=True, slots=True)
class SigmaField:
    """One canonical field's place in a Sigma log source.

    Attributes:
        name: The Sigma taxonomy field, e.g. ``Image``.
        kind: How the value is found in it.
        algorithm: For a hash, the key in ``Hashes``: ``MD5``, ``SHA1`` or ``SHA256``.
    """

    name: str
    kind: Kind = Kind.VALUE
    algorithm: str | None = None


LOGSOURCES: Final[dict[DataCategory, dict[str, str]]] = {
    DataCategory.FILE_SIGNATURE: {"product": "windows", "category": "image_load"},
    DataCategory.PROCESS: {"product": "windows", "category": "process_creation"},
    DataCategory.NETWORK: {"product": "windows", "category": "network_connection"},
}
"""The Sigma log source each data category reads."""

FILE_PREFIXES: Final[dict[DataCategory, str]] = {
    DataCategory.FILE_SIGNATURE: "image_load_win_",
    DataCategory.PROCESS: "proc_creation_win_",
    DataCategory.NETWORK: "net_connection_win_",
}
"""The file name prefix SigmaHQ expects for a rule of each log source."""

_HASHES: Final = {
    "file.hash.md5": SigmaField("Hashes", Kind.HASH, "MD5"),
    "file.hash.sha1": SigmaField("Hashes", Kind.HASH, "SHA1"),
    "file.hash.sha256": SigmaField("Hashes", Kind.HASH, "SHA256"),
}
_PROCESS_HASHES: Final = {
    "process.hash.md5": SigmaField("Hashes", Kind.HASH, "MD5"),
    "process.hash.sha1": SigmaField("Hashes", Kind.HASH, "SHA1"),
    "process.hash.sha256": SigmaField("Hashes", Kind.HASH, "SHA256"),
}
_COMMON: Final = {
    "host.name": SigmaField("Computer"),
    "user.name": SigmaField("User"),
    "process.name": SigmaField("Image", Kind.BASENAME),
    "process.executable": SigmaField("Image"),
}

FIELDS: Final[dict[DataCategory, dict[str, SigmaField]]] = {
    DataCategory.FILE_SIGNATURE: {
        **_COMMON,
        **_HASHES,
        "file.code_signature.subject_name": SigmaField("Signature"),
        "file.name": SigmaField("ImageLoaded", Kind.BASENAME),
        "file.path": SigmaField("ImageLoaded"),
    },
    DataCategory.PROCESS: {
        **_COMMON,
        **_HASHES,
        **_PROCESS_HASHES,
        "file.name": SigmaField("Image", Kind.BASENAME),
        "file.path": SigmaField("Image"),
        "process.command_line": SigmaField("CommandLine"),
        "process.parent.name": SigmaField("ParentImage", Kind.BASENAME),
        "process.pe.company": SigmaField("Company"),
        "process.pe.product": SigmaField("Product"),
        "process.pe.original_file_name": SigmaField("OriginalFileName"),
    },
    DataCategory.NETWORK: {
        **_COMMON,
        "destination.domain": SigmaField("DestinationHostname"),
        "destination.ip": SigmaField("DestinationIp"),
    },
}
"""Each category's Sigma field for each canonical field it carries.

In ``process_creation`` the file of the event is the process's executable, as in the KQL
backend's DeviceProcessEvents, so ``file.*`` and ``process.*`` name the same Sigma fields.
"""
