"""The canonical field taxonomy that every rule is written in.

Field names are Elastic Common Schema (ECS) names wherever ECS has one, so that a rule reads the
same to every detection engineer and each backend maps a name to its platform's column once.
The ECS types come from the ECS flat field reference (``@elastic/ecs``, ``ecs_flat.yml``).

Example:
    >>> FIELDS["process.name"].type
    'keyword'
    >>> "Signer" in FIELDS
    False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["FIELDS", "Field"]


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field.

    Attributes:
        name: The ECS name, e.g. ``process.name``.
        type: The ECS type: ``keyword``, ``ip`` or ``date``.
        description: What the field holds, in the words a rule author needs.
    """

    name: str
    type: str
    description: str


def _fields(*rows: tuple[str, str, str]) -> dict[str, Field]:
    return {name: Field(name, kind, text) for name, kind, text in rows}


FIELDS: Final[dict[str, Field]] = _fields(
    ("@timestamp", "date", "When the event happened."),
    ("event.id", "keyword", "The platform's identifier of the event (Defender: ReportId)."),
    ("host.id", "keyword", "The identifier of the device the event comes from."),
    ("host.name", "keyword", "The name of the device the event comes from."),
    ("user.name", "keyword", "The account that ran the process."),
    (
        "file.code_signature.subject_name",
        "keyword",
        "The subject of the certificate that signed the file (the signer).",
    ),
    ("file.code_signature.issuer", "keyword", "The issuer of the signing certificate."),
    ("file.name", "keyword", "The file's name, without its folder."),
    ("file.path", "keyword", "The file's full path."),
    ("file.hash.md5", "keyword", "The file's MD5 hash, hexadecimal."),
    ("file.hash.sha1", "keyword", "The file's SHA1 hash, hexadecimal."),
    ("file.hash.sha256", "keyword", "The file's SHA256 hash, hexadecimal."),
    ("process.name", "keyword", "The process's executable name, e.g. msiexec.exe."),
    ("process.executable", "keyword", "The full path of the process's executable."),
    ("process.command_line", "keyword", "The process's full command line."),
    ("process.parent.name", "keyword", "The executable name of the parent process."),
    ("process.hash.md5", "keyword", "The MD5 hash of the process's executable."),
    ("process.hash.sha1", "keyword", "The SHA1 hash of the process's executable."),
    ("process.hash.sha256", "keyword", "The SHA256 hash of the process's executable."),
    ("process.pe.company", "keyword", "The company name in the executable's version info."),
    ("process.pe.product", "keyword", "The product name in the executable's version info."),
    (
        "process.pe.original_file_name",
        "keyword",
        "The original file name in the executable's version info.",
    ),
    (
        "process.code_signature.subject_name",
        "keyword",
        "The subject of the certificate that signed the process's executable.",
    ),
    ("destination.domain", "keyword", "The domain name the host connected to."),
    ("destination.ip", "ip", "The IP address the host connected to."),
)
