r"""The Sigma log sources and fields an imported Sigma rule may use, and their canonical fields.

Importers never import a backend, so this is the importer's own table; a test checks that it
agrees with the Sigma backend's (``rmmdetect_backends.sigma.fields``). Fields are those of the
Sigma taxonomy for Windows Sysmon events.

Three kinds of Sigma field need more than a lookup:

* A path (``Image``, ``ImageLoaded``, ``ParentImage``): ``|endswith: '\name'`` with no other
  backslash reads as the name field ``equals`` the name (SigmaHQ's way of matching an
  executable); any other match reads as the path field, where there is one.
* ``Hashes`` holds ``ALGO=value`` pairs: ``|contains: 'SHA1=<40 hex digits>'`` reads as the
  SHA1 field ``equals`` the value; a partial hash is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["CATEGORIES", "FIELDS", "HASH_LENGTHS", "SigmaPlace"]


@dataclass(frozen=True, slots=True)
class SigmaPlace:
    r"""The canonical fields a Sigma field is read as.

    Attributes:
        field: The field a plain match reads as; ``None`` where only a name match can be read.
        name_field: For a path, the field a ``\name`` suffix match reads as.
        hashes: For ``Hashes``, the field of each algorithm.
    """

    field: str | None
    name_field: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()


CATEGORIES: Final[dict[tuple[str, str], DataCategory]] = {
    ("windows", "image_load"): DataCategory.FILE_SIGNATURE,
    ("windows", "process_creation"): DataCategory.PROCESS,
    ("windows", "network_connection"): DataCategory.NETWORK,
}
"""The data category of each supported ``(product, category)`` log source."""

HASH_LENGTHS: Final = {"MD5": 32, "SHA1": 40, "SHA256": 64}

_COMMON: Final = {
    "Computer": SigmaPlace("host.name"),
    "User": SigmaPlace("user.name"),
    "Image": SigmaPlace("process.executable", "process.name"),
}

FIELDS: Final[dict[DataCategory, dict[str, SigmaPlace]]] = {
    DataCategory.FILE_SIGNATURE: {
        **_COMMON,
        "Signature": SigmaPlace("file.code_signature.subject_name"),
        "ImageLoaded": SigmaPlace("file.path", "file.name"),
        "Hashes": SigmaPlace(
            None,
            hashes=(
                ("MD5", "file.hash.md5"),
                ("SHA1", "file.hash.sha1"),
                ("SHA256", "file.hash.sha256"),
            ),
        ),
    },
    DataCategory.PROCESS: {
        **_COMMON,
        "CommandLine": SigmaPlace("process.command_line"),
        "ParentImage": SigmaPlace(None, "process.parent.name"),
        "Company": SigmaPlace("process.pe.company"),
        "Product": SigmaPlace("process.pe.product"),
        "OriginalFileName": SigmaPlace("process.pe.original_file_name"),
        "Hashes": SigmaPlace(
            None,
            hashes=(
                ("MD5", "process.hash.md5"),
                ("SHA1", "process.hash.sha1"),
                ("SHA256", "process.hash.sha256"),
            ),
        ),
    },
    DataCategory.NETWORK: {
        **_COMMON,
        "DestinationHostname": SigmaPlace("destination.domain"),
        "DestinationIp": SigmaPlace("destination.ip"),
    },
}
"""Each category's readable Sigma fields. In ``process_creation`` a hash is the process's."""
