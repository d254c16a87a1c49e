"""The ``rmmdetect`` command line: convert rules, list targets, check rule files.

Exit status: 0 on success, 1 when the input is wrong (the message names file, line and field),
2 when the command line itself is wrong. The library never prints; this module owns the
terminal and shows the library's warnings on standard error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TextIO

from rmmdetect._contrib import check_command, new_command, test_command
from rmmdetect.errors import CatalogError, Policy, RmmdetectError
from rmmdetect.importers import IMPORTERS, ImportOptions, import_yaml
from rmmdetect.loader import Catalog, load_catalog
from rmmdetect.model import Severity, Status
from rmmdetect.packaging import build_pack, write_pack
from rmmdetect.registry import get_backend
from rmmdetect.rendering import convert, targets
from rmmdetect.site import OMITTED_RECORD, Site, Unresolved, load_site

__all__ = ["main"]

logger = logging.getLogger("rmmdetect")


def _catalog(paths: Sequence[str]) -> Catalog:
    return load_catalog(list(paths) if paths else None)


def _write(text: str, output: str | None, stdout: TextIO) -> None:
    """Write all of ``text`` or nothing: a file appears only once it is complete."""
    if output is None:
        stdout.write(text)
        return
    target = Path(output)
    if target.is_dir():
        raise RmmdetectError(f"cannot write {output}: it is a folder; name a file")
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:
        raise RmmdetectError(f"cannot write {output}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise RmmdetectError(f"cannot write {output}: {error.strerror}") from None
        raise


def _options(pairs: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise RmmdetectError(f"option '{pair}' must be written NAME=VALUE")
        options[name] = value
    return options


def _convert(args: argparse.Namespace, stdout: TextIO) -> int:
    catalog = _catalog(args.paths)
    site = load_site(args.site) if args.site else Site()
    backend = get_backend(args.target)
    texts: list[str] = []
    explanations: list[str] = []
    for rule in catalog:
        rendering = convert(
            rule,
            args.target,
            args.format,
            site=site,
            unresolved=args.unresolved,
            unsupported=args.unsupported,
            **_options(args.option),
        )
        texts.append(rendering.text)
        if args.explain:
            notes = [f"  - {note}" for note in rendering.notes] or ["  (exact: nothing left out)"]
            explanations.append(f"{rule.name} [{rendering.format}]:\n" + "\n".join(notes))
    _write(backend.join(texts, args.format or backend.default_format), args.output, stdout)
    if explanations:
        sys.stderr.write("\n".join(explanations) + "\n")
    return 0


def _targets(args: argparse.Namespace, stdout: TextIO) -> int:
    for name, info in targets().items():
        stdout.write(f"{name}: {info.description}\n")
        for fmt, text in info.formats.items():
            default = " (default)" if fmt == info.default_format else ""
            stdout.write(f"  -f {fmt}{default}: {text}\n")
        for option, text in info.options.items():
            stdout.write(f"  -O {option}=...: {text}\n")
    return 0


def _pack_targets(specs: Sequence[str]) -> dict[str, list[str] | None]:
    """Read TARGET or TARGET:FORMAT specs; a bare target means all of its formats (None)."""
    chosen: dict[str, list[str] | None] = {}
    for spec in specs or list(targets()):
        name, _, fmt = spec.partition(":")
        current = chosen.get(name, [])
        chosen[name] = None if not fmt or current is None else [*current, fmt]
    return chosen


def _pack(args: argparse.Namespace, stdout: TextIO) -> int:
    if Path(args.output).exists():
        raise RmmdetectError(f"{args.output}: already exists; choose a new folder for the pack")
    catalog = _catalog(args.paths)
    site = load_site(args.site) if args.site else Site()
    pack = build_pack(
        catalog,
        _pack_targets(args.target),
        site=site,
        unresolved=args.unresolved,
        unsupported=args.unsupported,
    )
    folder = write_pack(pack, args.output)
    stdout.write(f"{len(pack.files)} files in {folder} (pack sha256 {pack.sha256})\n")
    return 0


def _import(args: argparse.Namespace, stdout: TextIO) -> int:
    options = ImportOptions(
        tool=args.tool,
        vendor=args.vendor,
        author=args.author,
        date=dt.date.fromisoformat(args.date) if args.date else None,
        status=Status(args.status),
        severity=Severity(args.severity),
        window=args.window,
    )
    _write(import_yaml(args.format, args.file, options), args.output, stdout)
    return 0


_COMMANDS: Final[dict[str, Callable[[argparse.Namespace, TextIO], int]]] = {
    "convert": _convert,
    "targets": _targets,
    "check": check_command,
    "new": new_command,
    "test": test_command,
    "import": _import,
    "pack": _pack,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rmmdetect",
        description="Detections of abused RMM tools, written once, rendered for every SIEM.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert_cmd = commands.add_parser("convert", help="render rules for a target")
    convert_cmd.add_argument("-t", "--target", required=True, help="see 'rmmdetect targets'")
    convert_cmd.add_argument("-f", "--format", help="one of the target's formats")
    convert_cmd.add_argument("-o", "--output", help="write to this file instead of stdout")
    convert_cmd.add_argument("-s", "--site", help="site file with placeholder values")
    convert_cmd.add_argument(
        "--unresolved",
        choices=[u.value for u in Unresolved],
        default=Unresolved.OMIT.value,
        help="an exclusion whose placeholders have no site value: omit it with a warning "
        "(default) or fail",
    )
    convert_cmd.add_argument(
        "--unsupported",
        choices=[p.value for p in Policy],
        default=Policy.RAISE.value,
        help="a part the target cannot express: fail (raise, default), or leave it out with "
        "a warning (warn) or a note (collect)",
    )
    convert_cmd.add_argument(
        "-O",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a backend option (see 'rmmdetect targets')",
    )
    convert_cmd.add_argument(
        "--explain",
        action="store_true",
        help="print on stderr what each rendering approximated or left out",
    )
    convert_cmd.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="rule files or folders (default: the bundled catalog)",
    )

    commands.add_parser("targets", help="list targets, formats and options")

    pack_cmd = commands.add_parser(
        "pack", help="render the rules for several targets into a folder with a manifest"
    )
    pack_cmd.add_argument("-o", "--output", required=True, help="the pack's folder (new)")
    pack_cmd.add_argument(
        "-t",
        "--target",
        action="append",
        default=[],
        metavar="TARGET[:FORMAT]",
        help="a target, or one of its formats; repeatable (default: every format of every target)",
    )
    pack_cmd.add_argument("-s", "--site", help="site file with placeholder values")
    pack_cmd.add_argument(
        "--unresolved", choices=[u.value for u in Unresolved], default=Unresolved.OMIT.value
    )
    pack_cmd.add_argument(
        "--unsupported",
        choices=[p.value for p in Policy],
        default=Policy.COLLECT.value,
        help="a part a target cannot express (default: leave it out and list it in the manifest)",
    )
    pack_cmd.add_argument("paths", nargs="*", metavar="PATH", help="rule files or folders")

    check_cmd = commands.add_parser(
        "check", help="validate and lint rule files (errors exit 1, warnings do not)"
    )
    check_cmd.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="rule files or folders (default: the bundled catalog)",
    )
    check_cmd.add_argument(
        "--summary",
        action="store_true",
        help="also count tools, rules by category and the facts the catalog skipped",
    )

    new_cmd = commands.add_parser("new", help="start the rule file of a new tool")
    new_cmd.add_argument("--tool", required=True, help="the tool's name, e.g. 'AnyDesk'")
    new_cmd.add_argument("--vendor", required=True, help="who makes it")
    for option, text in (
        ("--signer", "a certificate subject of the vendor's signed files"),
        ("--process", "an executable name, e.g. anydesk.exe"),
        ("--domain", "a service host name; *.example.com for any subdomain"),
        ("--reference", "a public source of the values (a URL pinned to a commit)"),
    ):
        new_cmd.add_argument(option, action="append", default=[], help=f"{text}; repeatable")
    new_cmd.add_argument("-o", "--output", help="create this file (never overwritten)")

    _import_parser(commands)

    test_cmd = commands.add_parser("test", help="run a rule over sample events")
    test_cmd.add_argument("rule_file", metavar="RULE", help="a rule file")
    test_cmd.add_argument(
        "--events", required=True, help="a JSON Lines file of events keyed by canonical fields"
    )
    test_cmd.add_argument("--rule", help="the rule's id or name, when the file holds several")
    test_cmd.add_argument("-s", "--site", help="site file with placeholder values")
    test_cmd.add_argument(
        "--now", help="the end of the window, ISO 8601 (default: now), for reproducible runs"
    )
    return parser


def _import_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults = ImportOptions()
    cmd = commands.add_parser("import", help="read a rule from another format, write rule YAML")
    cmd.add_argument("--from", dest="format", required=True, choices=sorted(IMPORTERS))
    cmd.add_argument("file", metavar="FILE", help="the file to import")
    cmd.add_argument("-o", "--output", help="write to this file instead of stdout")
    cmd.add_argument("--tool", default=defaults.tool, help="the RMM tool's name")
    cmd.add_argument("--vendor", default=defaults.vendor, help="the tool's vendor")
    cmd.add_argument("--author", default=defaults.author, help="the rule's author")
    cmd.add_argument("--date", type=_iso_date, help="the rule's date, YYYY-MM-DD (default: today)")
    cmd.add_argument("--status", choices=[s.value for s in Status], default=defaults.status)
    cmd.add_argument(
        "--window", default=defaults.window, help="the lookback, where the format has none"
    )
    cmd.add_argument(
        "--severity",
        choices=[s.value for s in Severity],
        default=defaults.severity,
        help="where the format carries none",
    )


def _iso_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None
    return text


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


class _OmittedSummary(logging.Filter):
    """Counts the per-exclusion 'omitted' warnings instead of printing each one."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, OMITTED_RECORD, False):
            self.count += 1
            return self.verbose
        return True

    def summary(self) -> str | None:
        if self.verbose or not self.count:
            return None
        return (
            f"warning: {self.count} exclusion(s) omitted: their placeholders have no site value "
            "(give --site FILE; --explain or -v lists them)\n"
        )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` when ``None``.
        stdout: Where results go; ``sys.stdout`` when ``None``.

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    omitted = _OmittedSummary(args.verbose)
    handler.addFilter(omitted)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return _COMMANDS[args.command](args, stdout or sys.stdout)
    except CatalogError as error:
        for item in error.errors:
            sys.stderr.write(f"error: {item}\n")
        return 1
    except RmmdetectError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    finally:
        logger.removeHandler(handler)
        summary = omitted.summary()
        if summary:
            sys.stderr.write(summary)


if __name__ == "__main__":
    sys.exit(main())
