"""MITRE ATT&CK tactics as the platforms spell them.

Sentinel names a tactic in CamelCase (``CommandAndControl``), Sigma tags it with its ATT&CK
short name (``attack.command-and-control``) and Elastic files it under its ATT&CK id
(``TA0011``). The table below is the Enterprise matrix from attack.mitre.org/tactics/enterprise.

Example:
    >>> TACTICS["CommandAndControl"].id
    'TA0011'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["TACTICS", "TECHNIQUE_PATTERN", "Tactic"]


@dataclass(frozen=True, slots=True)
class Tactic:
    """One ATT&CK tactic.

    Attributes:
        name: Sentinel's CamelCase name, the spelling rule files use.
        id: The ATT&CK id, e.g. ``TA0011``.
        short_name: ATT&CK's short name, e.g. ``command-and-control``.
        title: The display name, e.g. ``Command and Control``.
    """

    name: str
    id: str
    short_name: str
    title: str


def _tactics(*rows: tuple[str, str, str, str]) -> dict[str, Tactic]:
    return {row[0]: Tactic(*row) for row in rows}


TACTICS: Final[dict[str, Tactic]] = _tactics(
    ("Reconnaissance", "TA0043", "reconnaissance", "Reconnaissance"),
    ("ResourceDevelopment", "TA0042", "resource-development", "Resource Development"),
    ("InitialAccess", "TA0001", "initial-access", "Initial Access"),
    ("Execution", "TA0002", "execution", "Execution"),
    ("Persistence", "TA0003", "persistence", "Persistence"),
    ("PrivilegeEscalation", "TA0004", "privilege-escalation", "Privilege Escalation"),
    ("DefenseEvasion", "TA0005", "defense-evasion", "Defense Evasion"),
    ("CredentialAccess", "TA0006", "credential-access", "Credential Access"),
    ("Discovery", "TA0007", "discovery", "Discovery"),
    ("LateralMovement", "TA0008", "lateral-movement", "Lateral Movement"),
    ("Collection", "TA0009", "collection", "Collection"),
    ("CommandAndControl", "TA0011", "command-and-control", "Command and Control"),
    ("Exfiltration", "TA0010", "exfiltration", "Exfiltration"),
    ("Impact", "TA0040", "impact", "Impact"),
)

TECHNIQUE_PATTERN: Final = re.compile(r"T[0-9]{4}(\.[0-9]{3})?")
"""An ATT&CK technique or sub-technique id, e.g. ``T1219`` or ``T1219.002``."""
