"""Microsoft's KQL analyser (Kusto.Language) as a test oracle.

The analyser is the ``@kusto/language-service-next`` npm package, the C# Kusto.Language library
compiled to JavaScript. ``analyse.js`` in this folder loads it in one long-running Node process,
binds a database schema, and answers one JSON line per query; :class:`KustoAnalyser` drives that
process from Python. Install the package with ``npm ci --prefix tests/oracles/kusto``.

Example:
    >>> with KustoAnalyser() as kusto:  # doctest: +SKIP
    ...     kusto.analyse("DeviceInfo | where Nope == 1").errors[0].code
    'KS142'
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Self

__all__ = [
    "DEFAULT_SCHEMA",
    "NODE_DIR",
    "PACKAGE_VERSION",
    "Analysis",
    "Diagnostic",
    "KustoAnalyser",
    "KustoOracleError",
    "installation_problem",
]

NODE_DIR: Final = Path(__file__).resolve().parent
"""The folder holding ``package.json``, ``analyse.js`` and, once installed, ``node_modules``."""

PACKAGE_VERSION: Final = "12.4.1"
"""The pinned version of ``@kusto/language-service-next``."""

DEFAULT_SCHEMA: Final = NODE_DIR.parents[2] / "backends" / "kql" / "defender_xdr_schema.json"
"""The Defender XDR advanced hunting schema, ``{table: {column: kusto type}}``."""

_PACKAGE_DIR: Final = NODE_DIR / "node_modules" / "@kusto" / "language-service-next"
_INSTALL_HINT: Final = f"run `npm ci --prefix {NODE_DIR}`"
_START_TIMEOUT: Final = 60.0
_QUERY_TIMEOUT: Final = 30.0


class KustoOracleError(RuntimeError):
    """The oracle could not give a verdict: Node is missing, failed to start, or crashed."""


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic reported by Kusto.Language."""

    code: str
    """The diagnostic code, e.g. ``KS142`` for an unknown name."""
    severity: str
    """``Error``, ``Warning``, ``Suggestion`` or ``Information``."""
    message: str
    """The analyser's message."""
    start: int
    """Offset of the span in the query, in code points (a Python ``str`` index)."""
    length: int
    """Length of the span, in code points."""


@dataclass(frozen=True)
class Analysis:
    """What Kusto.Language says about one query."""

    query: str
    """The query analysed."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Every diagnostic, in the analyser's order, whatever its severity."""
    columns: list[tuple[str, str]] = field(default_factory=list)
    """Name and Kusto type of each result column; empty when the result is not a table."""
    string_literals: list[str] = field(default_factory=list)
    """Decoded value of every string literal token, in source order."""

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity ``Error``: a query is valid when there are none."""
        return [d for d in self.diagnostics if d.severity == "Error"]

    def error_report(self) -> str:
        """Describes each error with the query line it points at, for assertion messages.

        Returns:
            One block per error: code and message, the line, and a caret under the span.
        """
        blocks = [f"query:\n{self.query}"]
        for error in self.errors:
            line_start = self.query.rfind("\n", 0, error.start) + 1
            line_end = self.query.find("\n", error.start)
            line = self.query[line_start : None if line_end < 0 else line_end]
            caret = " " * (error.start - line_start) + "^" * max(error.length, 1)
            blocks.append(f"{error.code} at {error.start}: {error.message}\n{line}\n{caret}")
        return "\n\n".join(blocks)


def installation_problem(node: str = "node") -> str | None:
    """Says what is missing to run the oracle, if anything.

    Args:
        node: The Node.js executable to use.

    Returns:
        A message naming the missing piece and how to install it, or None when ready.
    """
    if shutil.which(node) is None:
        return (
            f"Node.js executable {node!r} not found on PATH; install Node 20, then {_INSTALL_HINT}"
        )
    manifest = _PACKAGE_DIR / "package.json"
    if not (_PACKAGE_DIR / "Kusto.Language.Bridge.js").is_file() or not manifest.is_file():
        return f"@kusto/language-service-next is not installed in {NODE_DIR}: {_INSTALL_HINT}"
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if version != PACKAGE_VERSION:
        return f"@kusto/language-service-next is {version}, not {PACKAGE_VERSION}: {_INSTALL_HINT}"
    return None


class KustoAnalyser:
    """Analyses KQL queries with Kusto.Language in a Node process started on first use.

    The process is reused for every query until :meth:`close`; if it dies it is restarted on
    the next query. Calls are serialised, so one instance may be shared between threads.

    Args:
        schema: JSON file mapping each table to ``{column: kusto type}``.
        node: The Node.js executable to use.
    """

    def __init__(self, schema: Path = DEFAULT_SCHEMA, *, node: str = "node") -> None:
        self._schema = Path(schema)
        self._node = node
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self.startup_seconds: float | None = None
        """Seconds the last start took, up to the analyser being ready."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def analyse(self, query: str) -> Analysis:
        """Parses and analyses one query against the schema.

        Args:
            query: KQL text; any Unicode, newlines included.

        Returns:
            The diagnostics, result columns and decoded string literals.

        Raises:
            KustoOracleError: The analyser is not installed, failed, or did not answer in time.
        """
        with self._lock:
            reply = self._exchange({"query": query})
        if "error" in reply:
            raise KustoOracleError(f"analyser failed on {query!r}: {reply['error']}")
        return Analysis(
            query=query,
            diagnostics=[Diagnostic(**d) for d in reply["diagnostics"]],
            columns=[(c["name"], c["type"]) for c in reply["columns"]],
            string_literals=list(reply["string_literals"]),
        )

    def close(self) -> None:
        """Stops the Node process, if running."""
        with self._lock:
            self._stop()

    def _exchange(self, request: dict[str, str]) -> dict[str, Any]:
        process = self._process or self._start()
        assert process.stdin is not None
        line = json.dumps(request, ensure_ascii=True).encode("ascii") + b"\n"
        try:
            process.stdin.write(line)
            process.stdin.flush()
        except OSError as exc:
            raise self._failure(f"could not send the query ({exc})") from exc
        return self._read_reply(_QUERY_TIMEOUT)

    def _start(self) -> subprocess.Popen[bytes]:
        problem = installation_problem(self._node)
        if problem is not None:
            raise KustoOracleError(problem)
        began = time.perf_counter()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop with the process
        self._buffer = b""
        self._process = subprocess.Popen(
            [self._node, str(NODE_DIR / "analyse.js"), str(self._schema)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        if not self._read_reply(_START_TIMEOUT).get("ready"):
            raise self._failure("the analyser did not report ready")
        self.startup_seconds = time.perf_counter() - began
        return self._process

    def _read_reply(self, timeout: float) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise self._failure(f"no answer within {timeout:g} s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._failure("the Node process exited")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line.decode("utf-8"))
        return reply

    def _failure(self, what: str) -> KustoOracleError:
        stderr = b""
        if self._stderr is not None and self._process is not None:
            self._process.kill()
            self._process.wait()
            self._stderr.seek(0)
            stderr = self._stderr.read()
        self._stop()
        detail = stderr.decode("utf-8", "replace").strip()
        return KustoOracleError(
            f"Kusto analyser: {what}" + (f"\nNode stderr:\n{detail}" if detail else "")
        )

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            assert process.stdout is not None
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
