"""Generate a multi-SIEM content pack from the catalog, with a site's exclusions filled in.

Run: python examples/generate_pack.py OUTPUT_FOLDER [SITE_FILE]

The same as `rmmdetect pack -o OUTPUT_FOLDER -s SITE_FILE`; the library calls are shown here so
that a pipeline can pick rules or targets of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import rmmdetect
from rmmdetect.packaging import build_pack, write_pack

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    site = rmmdetect.load_site(argv[1] if len(argv) > 1 else HERE / "site.yml")
    # Only rules that are past the experimental stage, for every target and format.
    rules = [rule for rule in rmmdetect.load_catalog() if rule.status != "experimental"]
    targets = dict.fromkeys(rmmdetect.targets())
    try:
        pack = build_pack(rules, targets, site=site, unsupported="collect")
        folder = write_pack(pack, argv[0])
    except rmmdetect.RmmdetectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    left_out = sum(1 for item in pack.files if item.notes)
    print(f"{len(pack.files)} files from {len(rules)} rules in {folder}")
    print(f"{left_out} files carry notes on what they approximate or leave out (manifest.json)")
    print(f"pack sha256 {pack.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
