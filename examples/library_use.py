"""Use rmmdetect as a library: load the catalog, render a rule, run it over events.

Run: python examples/library_use.py
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import rmmdetect

HERE = Path(__file__).resolve().parent
SUPREMO = "a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6"


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the library logs to the "rmmdetect" logger
    catalog = rmmdetect.load_catalog()
    rule = catalog.get(SUPREMO)
    print(f"{len(catalog)} rules; {rule.name} ({rule.tool.name}, window {rule.window})")

    # The same rule for every target; the site file fills the exclusions' placeholders.
    site = rmmdetect.load_site(HERE / "site.yml")
    for target, info in rmmdetect.targets().items():
        rendering = rmmdetect.convert(rule, target, site=site, unsupported="collect")
        print(f"\n== {target} ({info.default_format}) ==\n{rendering.text}")
        for note in rendering.notes:
            print(f"   note: {note}")

    # The reference evaluator defines what the rule means.
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    events = [
        {
            "@timestamp": now - timedelta(hours=2),
            "host.id": "d1",
            "host.name": "ws-01",
            "event.id": "1",
            "file.code_signature.subject_name": "Nanosystems S.r.l.",
        },
        {
            "@timestamp": now - timedelta(days=6),  # outside the 5-day window
            "host.id": "d2",
            "host.name": "ws-02",
            "event.id": "2",
            "file.code_signature.subject_name": "Nanosystems S.R.L.",
        },
    ]
    result = rmmdetect.evaluate(rmmdetect.resolve(rule, site).rule, events, now=now)
    print(f"\nkept {len(result.kept)} of {len(events)} events; rows: {result.rows}")


if __name__ == "__main__":
    main()
