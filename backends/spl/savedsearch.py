"""The savedsearches.conf stanza of a rule, with the keys contentctl writes for a hunting search.

The stanza is what ``contentctl build`` emits for a security_content detection of type Hunting
(``output/templates/savedsearches_detections.j2`` in contentctl 5.6), without the keys that need
the ESCU app itself; the stanza is named ``<rule name> - Rule`` (contentctl prefixes its app
label, and Enterprise Security limits the name's length). The window is both the search's own
``earliest``/``latest`` and the stanza's ``dispatch.earliest_time``/``dispatch.latest_time``, so
it holds however the search is run. A multi-line value continues with a trailing backslash, as
``.conf`` files require.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rmmdetect_backends.spl.quoting import conf_value, stanza_name

if TYPE_CHECKING:
    from rmmdetect_backends.spl.backend import SplSearch

__all__ = ["ANALYTIC_STORY", "CRON_SCHEDULE", "savedsearch_stanza"]

ANALYTIC_STORY = "Remote Monitoring and Management Software"
"""The security_content analytic story of RMM tool detections."""

CRON_SCHEDULE = "0 * * * *"
"""Hourly, as contentctl schedules hunting searches (escu_default_configuration_hunting)."""


def savedsearch_stanza(search: SplSearch) -> str:
    """Return the savedsearches.conf stanza of a rendered search."""
    rule = search.rule
    name = stanza_name(f"{rule.name} - Rule")
    mappings = json.dumps({"mitre_attack": list(rule.attack.techniques)})
    pairs = [
        ("action.escu", "0"),
        ("action.escu.enabled", "1"),
        ("description", conf_value(rule.description)),
        ("action.escu.mappings", mappings),
        ("action.escu.analytic_story", json.dumps([ANALYTIC_STORY])),
        ("cron_schedule", CRON_SCHEDULE),
        ("dispatch.earliest_time", f"-{rule.window}"),
        ("dispatch.latest_time", "now"),
        ("action.correlationsearch.enabled", "1"),
        ("action.correlationsearch.label", name),
        ("action.correlationsearch.annotations", mappings),
        ("schedule_window", "auto"),
        ("alert.digest_mode", "1"),
        ("disabled", "true"),
        ("enableSched", "1"),
        ("allow_skew", "100%"),
        ("counttype", "number of events"),
        ("relation", "greater than"),
        ("quantity", "0"),
        ("realtime_schedule", "0"),
        ("is_visible", "false"),
        ("search", conf_value(search.query())),
    ]
    return f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in pairs)
