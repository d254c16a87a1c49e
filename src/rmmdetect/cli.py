"""The ``rmmdetect`` command line: convert rules, list targets, check rule files.

Exit status: 0 on success, 1 when the input is wrong (the message names file, line and field),
2 when the command line itself is wrong. The library never prints; this module owns the
terminal and shows the library's warnings on standard error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, TextIO

from rmmdetect.errors import CatalogError, Policy, RmmdetectError
from rmmdetect.loader import Catalog, load_catalog
from rmmdetect.registry import get_backend
from rmmdetect.rendering import convert, targets
from rmmdetect.site import Site, Unresolved, load_site

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
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
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


def _check(args: argparse.Namespace, stdout: TextIO) -> int:
    catalog = _catalog(args.paths)
    files = len(set(catalog.sources.values()))
    stdout.write(f"{len(catalog)} rules in {files} files: no errors\n")
    return 0


_COMMANDS: Final[dict[str, Callable[[argparse.Namespace, TextIO], int]]] = {
    "convert": _convert,
    "targets": _targets,
    "check": _check,
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

    check_cmd = commands.add_parser("check", help="validate rule files")
    check_cmd.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="rule files or folders (default: the bundled catalog)",
    )
    return parser


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


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


if __name__ == "__main__":
    sys.exit(main())
