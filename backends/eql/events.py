"""Which Elastic Defend events a rule reads, and the ECS field that carries each canonical field.

Every data category maps to one or more event kinds. An event kind is the EQL event category,
the conditions that select the events (Elastic's own rules open the same way, e.g. a process
start on Windows), the index pattern Elastic Defend writes them to, and a field table: each
canonical field that those events carry and its ECS name there. A canonical field with no row
is not in those events.

* ``file_signature``: Elastic Defend puts the signer of a process's executable on the process
  start event (``process.code_signature.subject_name``), which is where Elastic's own RMM signer
  rule looks; library loads (``dll.code_signature``) would widen the rule to every DLL the
  vendor signs. The signed file is the process image, so ``file.*`` maps to ``process.*``.
* ``process``: the same process start events.
* ``network``: DNS lookups (``destination.domain`` is the question, ``dns.question.name``) when
  the detection names a domain and no IP; otherwise connection events, which carry
  ``destination.domain`` and ``destination.ip``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rmmdetect.model import DataCategory

__all__ = ["EVENTS", "EventKind", "emitted_fields"]


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of Elastic Defend event.

    Attributes:
        category: The EQL event category, e.g. ``process``.
        selection: The EQL conditions that select the events, joined by ``and``.
        index: The Elastic Defend index pattern of the events.
        fields: Each canonical field the events carry and its ECS name there.
    """

    category: str
    selection: tuple[str, ...]
    index: str
    fields: Mapping[str, str]

    def head(self) -> str:
        """Return ``<category> where <selection>``."""
        return f"{self.category} where " + " and ".join(self.selection)


_HOST: Final = {
    "@timestamp": "@timestamp",
    "event.id": "event.id",
    "host.id": "host.id",
    "host.name": "host.name",
    "user.name": "user.name",
}

_PROCESS: Final = {
    **_HOST,
    "file.code_signature.subject_name": "process.code_signature.subject_name",
    "file.name": "process.name",
    "file.path": "process.executable",
    "file.hash.md5": "process.hash.md5",
    "file.hash.sha1": "process.hash.sha1",
    "file.hash.sha256": "process.hash.sha256",
    "process.name": "process.name",
    "process.executable": "process.executable",
    "process.command_line": "process.command_line",
    "process.parent.name": "process.parent.name",
    "process.hash.md5": "process.hash.md5",
    "process.hash.sha1": "process.hash.sha1",
    "process.hash.sha256": "process.hash.sha256",
    "process.pe.company": "process.pe.company",
    "process.pe.product": "process.pe.product",
    "process.pe.original_file_name": "process.pe.original_file_name",
    "process.code_signature.subject_name": "process.code_signature.subject_name",
}
"""A process start: the process, its image file and its signer."""

_NETWORK_PROCESS: Final = {
    **_HOST,
    "process.name": "process.name",
    "process.executable": "process.executable",
}
"""What Elastic Defend's network events say about the process that made them."""

_WINDOWS: Final = 'host.os.type == "windows"'

PROCESS_START: Final = EventKind(
    "process",
    (_WINDOWS, 'event.type == "start"'),
    "logs-endpoint.events.process-*",
    _PROCESS,
)
DNS_LOOKUP: Final = EventKind(
    "network",
    (_WINDOWS, 'network.protocol == "dns"'),
    "logs-endpoint.events.network-*",
    {**_NETWORK_PROCESS, "destination.domain": "dns.question.name"},
)
CONNECTION: Final = EventKind(
    "network",
    (_WINDOWS,),
    "logs-endpoint.events.network-*",
    {
        **_NETWORK_PROCESS,
        "destination.domain": "destination.domain",
        "destination.ip": "destination.ip",
    },
)

EVENTS: Final[dict[DataCategory, tuple[EventKind, ...]]] = {
    DataCategory.FILE_SIGNATURE: (PROCESS_START,),
    DataCategory.PROCESS: (PROCESS_START,),
    DataCategory.NETWORK: (DNS_LOOKUP, CONNECTION),
}
"""The event kinds of each category, in order of preference: a rule reads the first whose
fields cover its detection."""


def emitted_fields() -> set[str]:
    """Return every ECS field a rendered query can name, selections included."""
    names = {"host.id", "host.os.type", "event.type", "network.protocol"}
    for kinds in EVENTS.values():
        for kind in kinds:
            names.update(kind.fields.values())
    return names
