"""Measure rules per second for loading the catalog and rendering it to every target.

Not a test: run it by hand (``python benchmarks/bench_render.py [--repeat N]``). Each target
is timed on every format of it, with the example site so that exclusions render; a part a
target cannot express is collected as a note rather than raised, as ``rmmdetect check`` does.
The table gives the best and the median of the repetitions.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import rmmdetect

REPO = Path(__file__).resolve().parents[1]


def _timed(work: Callable[[], int], repeat: int) -> tuple[int, list[float]]:
    seconds = []
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = work()
        seconds.append(time.perf_counter() - start)
    return count, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each measurement")
    args = parser.parse_args()
    # The catalog's site placeholders mostly have no value here: each omission logs a warning,
    # which would be timed too.
    logging.getLogger("rmmdetect").setLevel(logging.ERROR)
    site = rmmdetect.load_site(REPO / "examples" / "site.yml")

    def load() -> int:
        return len(list(rmmdetect.load_catalog()))

    rules = list(rmmdetect.load_catalog())
    measurements = [("load catalog", "", *_timed(load, args.repeat))]
    for name, info in sorted(rmmdetect.targets().items()):
        for format in info.formats:

            def render(target: str = name, chosen: str = format) -> int:
                for rule in rules:
                    rmmdetect.convert(rule, target, chosen, site=site, unsupported="collect")
                return len(rules)

            measurements.append((name, format, *_timed(render, args.repeat)))

    print(f"{len(rules)} rules, {args.repeat} repetitions")
    print(f"{'step':<14} {'format':<18} {'best s':>8} {'median s':>9} {'rules/s':>9}")
    for step, format, count, seconds in measurements:
        best, median = min(seconds), statistics.median(seconds)
        print(f"{step:<14} {format:<18} {best:>8.3f} {median:>9.3f} {count / best:>9.0f}")


if __name__ == "__main__":
    main()
