"""The contributor commands of the CLI: ``new``, ``check`` and ``test``.

Each takes the parsed arguments and the stream for results, and returns the exit status; the
work is done by :mod:`rmmdetect.scaffold`, :mod:`rmmdetect.lint` and :mod:`rmmdetect.events`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from rmmdetect.events import parse_time, read_events, select_rule, try_rule
from rmmdetect.lint import Level, Summary, lint_catalog, summarize
from rmmdetect.loader import default_catalog_path, load_catalog
from rmmdetect.scaffold import new_rule_file, write_new
from rmmdetect.site import Site, load_site

__all__ = ["check_command", "new_command", "test_command"]


def new_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Scaffold the rule file of a new tool; never overwrite a file."""
    text = new_rule_file(
        args.tool,
        args.vendor,
        signers=args.signer,
        processes=args.process,
        domains=args.domain,
        references=args.reference,
    )
    if args.output is None:
        stdout.write(text)
        return 0
    write_new(Path(args.output), text)
    stdout.write(f"wrote {args.output}: fill in the sources, then run 'rmmdetect check'\n")
    return 0


def _skipped_file(paths: list[str]) -> Path | None:
    folders = [Path(p) for p in paths if Path(p).is_dir()] if paths else [default_catalog_path()]
    found = [folder / "skipped.json" for folder in folders if (folder / "skipped.json").is_file()]
    return found[0] if found else None


def _write_summary(summary: Summary, stdout: TextIO) -> None:
    categories = ", ".join(f"{name} {count}" for name, count in summary.by_category.items())
    stdout.write(f"tools: {summary.tools}\nrules: {summary.rules} ({categories})\n")
    stdout.write(f"skipped facts: {len(summary.skipped)}\n")
    for reason, count in summary.skipped_by_reason().items():
        stdout.write(f"  {reason}: {count}\n")


def check_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Lint rule files: errors exit 1, warnings only print.

    A file the loader rejects raises :class:`~rmmdetect.errors.CatalogError`, which the CLI
    prints as ``error: FILE:LINE: FIELD: problem`` lines.
    """
    catalog = load_catalog(list(args.paths) if args.paths else None)
    findings = lint_catalog(catalog)
    errors = [f for f in findings if f.level is Level.ERROR]
    for finding in findings:
        sys.stderr.write(f"{finding.level.value}: {finding}\n")
    files = len(set(catalog.sources.values()))
    verdict = f"{len(errors)} errors" if errors else "no errors"
    stdout.write(f"{len(catalog)} rules in {files} files: {verdict}\n")
    if args.summary:
        _write_summary(summarize(catalog, _skipped_file(args.paths)), stdout)
    return 1 if errors else 0


def test_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """Run one rule over a JSON Lines file of events and describe what happened."""
    rule = select_rule(args.rule_file, args.rule)
    events = read_events(args.events)
    site = load_site(args.site) if args.site else Site()
    now = parse_time(args.now) if args.now else None
    stdout.write(try_rule(rule, events, site, now).report())
    return 0
