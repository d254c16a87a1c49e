"""Reading rule files and catalogs into validated models, with errors that point at the line.

A rule file is a YAML stream of one or more rule documents (one file per RMM tool, one
document per rule). YAML is read strictly: a repeated key is an error, not a silent overwrite,
and every validation error names the file, the line, the field and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, get_args

import yaml
from pydantic import BaseModel, ValidationError

from rmmdetect.errors import CatalogError, RuleFileError, did_you_mean
from rmmdetect.model import AllOf, AnyOf, Match, Not, Rule

__all__ = [
    "Catalog",
    "Document",
    "default_catalog_path",
    "load_catalog",
    "load_rule",
    "load_rules",
    "load_yaml_documents",
    "rule_files",
    "validation_errors",
]

logger = logging.getLogger("rmmdetect")

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RULE_SUFFIXES = (".yml", ".yaml")

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One YAML document with the line of every value in it.

    Attributes:
        data: The document as plain Python values.
        lines: The 1-based line of each value, by its path of keys and indexes.
        path: The file it came from.
    """

    data: Any
    lines: Mapping[Location, int]
    path: Path

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """Return the line of the deepest known value on ``location``."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None


def _walk(node: yaml.Node, location: Location, lines: dict[Location, int], path: Path) -> None:
    # A value reached through a key is placed on its key's line, where a reader looks for it.
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise RuleFileError(
                    f"duplicate key '{key}' (first given on line {seen[key]}); "
                    "each key may appear once",
                    path=path,
                    line=line,
                    field=".".join(str(part) for part in (*location, key)),
                )
            seen[key] = line
            lines[(*location, key)] = line
            _walk(value_node, (*location, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*location, index), lines, path)


def load_yaml_documents(path: Path, text: str | None = None) -> list[Document]:
    """Read every document of a YAML file strictly, keeping the line of each value.

    Args:
        path: The file to read (also named in errors).
        text: The file's text, if already read.

    Returns:
        The documents, in order; empty documents are left out.

    Raises:
        RuleFileError: The file cannot be read, is not valid YAML or repeats a key.
    """
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as error:
        raise RuleFileError(f"cannot read the file: {error}", path=path) from None
    loader = _Loader(source)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Location, int] = {}
            _walk(node, (), lines, path)
            documents.append(Document(loader.construct_document(node), lines, path))
    except yaml.MarkedYAMLError as error:
        line, problem = _yaml_problem(error, source)
        raise RuleFileError(problem, path=path, line=line) from None
    except yaml.YAMLError as error:
        raise RuleFileError(f"not valid YAML: {error}", path=path) from None
    finally:
        loader.dispose()
    return documents


_YAML_HINTS: Final = (
    ("\t", "indent with spaces; YAML does not allow tabs in indentation"),
    ("tab", "indent with spaces; YAML does not allow tabs in indentation"),
    ("did not find expected key", "check this line's indentation and that every quote is closed"),
    ("expected <block end>", "check this line's indentation"),
    (
        "mapping values are not allowed",
        "check this line's indentation, or quote a value that contains ': '",
    ),
    ("end of stream", "close the quote"),
)
_OPEN_QUOTE: Final = re.compile(r"""^\s*(?:- +)?(?:[^\s#'"][^#'"]*?: +)?(['"])(.*)$""")


def _open_quote(lines: Sequence[str], first: int, last: int) -> int | None:
    """Return the 1-based line, between two 0-based ones, of a quote left open at its end."""
    for number in range(max(first, 0), min(last + 1, len(lines))):
        found = _OPEN_QUOTE.match(lines[number])
        if found is None:
            continue
        quote, rest = found.groups()
        closed = rest.replace(quote * 2, "") if quote == "'" else rest.replace('\\"', "")
        if quote not in closed:
            return number + 1
    return None


def _yaml_problem(error: yaml.MarkedYAMLError, source: str) -> tuple[int | None, str]:
    """Word a YAML syntax error for a reader: the line, what is wrong, and how to fix it."""
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return None, f"not valid YAML: {error}"
    problem = error.problem or error.context or "unreadable YAML"
    began = error.context_mark
    if error.context and began is not None and began.line != mark.line:
        problem += f" ({error.context} that began on line {began.line + 1})"
    lines = source.splitlines()
    quote = _open_quote(lines, began.line if began else 0, mark.line - 1)
    if quote is not None:
        return quote, "not valid YAML: the quote opened on this line is never closed"
    row = lines[mark.line] if mark.line < len(lines) else ""
    hints = [h for key, h in _YAML_HINTS if key in problem or key == row[mark.column :][:1]]
    return mark.line + 1, f"not valid YAML: {problem}" + "".join(f"; {h}" for h in hints[:1])


def _step(data: Any, part: str | int) -> tuple[bool, Any]:
    """Follow one key or index into the data; say whether it was there."""
    if isinstance(data, Mapping) and part in data:
        return True, data[part]
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return True, data[part]
    return False, None


def _clean_location(data: Any, location: Sequence[str | int]) -> list[str | int]:
    """Drop the union tags pydantic puts in a location, keeping the keys present in the data."""
    clean: list[str | int] = []
    single = False
    for part in location:
        found, inner = _step(data, part)
        if single and part == 0:
            # 'value: x' is read as 'values: [x]': its one item is the value itself.
            data, single = inner, False
        elif found:
            data = inner
            clean.append(part)
        elif isinstance(data, Mapping) and part == "values" and "value" in data:
            data, single = [data["value"]], True
            clean.append("value")
        elif (
            not isinstance(data, Mapping | list)
            or (isinstance(data, list) and isinstance(part, str))
            or part in ("all", "any", "not", "match")
        ):
            continue
        else:
            clean.append(part)
            data = None
    return clean


def _given(value: Any) -> str:
    """Describe a YAML value as its reader wrote it."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        return f"the YAML boolean {word} (yes, no, on, off, true, false are booleans unless quoted)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return _SHAPES.get(type(value), f"a {type(value).__name__}")


_SHAPES: Final[dict[type, str]] = {list: "a list", dict: "a mapping", type(None): "nothing"}
_MAPPING: Final = "a mapping of keys (one 'key: value' per line)"
_EXPECTED: Final = {
    "string_type": "quoted text",
    "model_type": _MAPPING,
    "dict_type": _MAPPING,
    "model_attributes_type": _MAPPING,
    "tuple_type": "a list ([a, b], or one '- item' per line)",
    "list_type": "a list ([a, b], or one '- item' per line)",
    "bool_type": "true or false",
    "uuid_type": "a UUID such as a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6",
    "uuid_parsing": "a UUID such as a8c85d8f-1bb0-4c0e-8983-de136a7bf2e6",
    "date_type": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "a date written YYYY-MM-DD",
}
_PATTERNS: Final = {
    r"^https?://\S+$": "a web address starting with http:// or https://",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "a name of letters, digits and '_', not starting with a digit",
    r"^[a-z][a-z0-9_]*$": "a lower_snake_case name such as siem_server_ip",
}
_FIXED: Final = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "too_short": "needs at least one item",
}
_CONDITION_MODELS: Final[dict[str, type[BaseModel]]] = {
    "match": Match,
    "all": AllOf,
    "any": AnyOf,
    "not": Not,
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _allowed_keys(root: type[BaseModel], location: Sequence[str | int]) -> list[str]:
    """Return the keys the model allows at the mapping that holds ``location``'s last key."""
    current: type[BaseModel] | None = root
    for part in location[:-1]:
        if isinstance(part, int):
            continue
        if part in _CONDITION_MODELS and (current is None or part not in current.model_fields):
            current = _CONDITION_MODELS[part]
            continue
        fields = {f.alias or name: f for name, f in current.model_fields.items()} if current else {}
        models = _models_in(fields[part].annotation) if part in fields else []
        current = models[0] if len(models) == 1 else None
    if current is None:
        return []
    keys = [f.alias or name for name, f in current.model_fields.items()]
    return sorted([*keys, "value"] if current is Match else keys)


def _problem(error: Mapping[str, Any], clean: Sequence[str | int], root: type[BaseModel]) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "missing" and clean and clean[-1] == "values":
        return "a match needs 'value' (one) or 'values' (a list)"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, error["loc"])
        key = str(error["loc"][-1])
        return f"is not a known key{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
    if kind in _FIXED:
        return _FIXED[kind]
    expected = _EXPECTED.get(kind)
    if kind == "string_pattern_mismatch":
        expected = _PATTERNS.get(str(error.get("ctx", {}).get("pattern")))
    if expected is not None and clean and clean[-1] == "value" and isinstance(given, list):
        return f"expected {expected}, got a list; write several values as 'values: [a, b]'"
    if expected is not None:
        return f"expected {expected}, got {_given(given)}"
    if kind == "enum":
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(str(given), choices)
        return f"got {_given(given)}{hint}; allowed: {', '.join(choices)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message += f" (got {_given(given)})"
    return message


def validation_errors(
    error: ValidationError, document: Document, root: type[BaseModel] = Rule
) -> list[RuleFileError]:
    """Turn a model's validation errors into file errors naming line, field and what is allowed.

    Args:
        error: What pydantic raised while validating ``document``.
        document: The document validated.
        root: The model it was validated as.

    Returns:
        One error per root cause, in pydantic's order.
    """
    found: list[RuleFileError] = []
    consequences: list[RuleFileError] = []
    for item in error.errors():
        clean = _clean_location(document.data, item["loc"])
        field_name = ".".join(str(part) for part in clean) or None
        # A failed child also makes its parent's list look short; keep the root cause only.
        into = consequences if item["type"] == "too_short" and item.get("input") else found
        into.append(
            RuleFileError(
                _problem(item, clean, root),
                path=document.path,
                line=document.line_of(clean),
                field=field_name,
            )
        )
    return found or consequences


def _rule_from(document: Document) -> Rule:
    if not isinstance(document.data, Mapping):
        raise RuleFileError(
            f"a rule document must be a mapping of keys, not {_given(document.data)}",
            path=document.path,
            line=document.line_of(()),
        )
    try:
        return Rule.model_validate(document.data)
    except ValidationError as error:
        raise CatalogError(validation_errors(error, document)) from None


@dataclass(frozen=True)
class _Loaded:
    """A rule with the file and line it came from."""

    rule: Rule
    document: Document

    def where(self, key: str) -> str:
        line = self.document.line_of((key,))
        return f"{self.document.path}" + (f":{line}" if line is not None else "")


def _load_file(source: Path) -> list[_Loaded]:
    """Load every rule of a file, collecting the errors of all its documents."""
    documents = load_yaml_documents(source)
    if not documents:
        raise RuleFileError("the file holds no rule (it is empty or only comments)", path=source)
    loaded: list[_Loaded] = []
    errors: list[RuleFileError] = []
    for document in documents:
        try:
            loaded.append(_Loaded(_rule_from(document), document))
        except RuleFileError as error:
            errors.append(error)
        except CatalogError as error:
            errors.extend(error.errors)
    if not errors:
        errors = _duplicates(loaded, "this file")
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise CatalogError(errors)
    return loaded


def _duplicates(loaded: Sequence[_Loaded], scope: str) -> list[RuleFileError]:
    """Report every rule whose id or name an earlier rule already uses."""
    errors: list[RuleFileError] = []
    first: dict[tuple[str, str], _Loaded] = {}
    for item in loaded:
        for key, value in (("id", str(item.rule.id)), ("name", item.rule.name.lower())):
            earlier = first.setdefault((key, value), item)
            if earlier is item:
                continue
            shown = getattr(item.rule, key)
            errors.append(
                RuleFileError(
                    f"rule {key} '{shown}' is already used in {scope} at {earlier.where(key)}; "
                    f"every rule needs its own {key}",
                    path=item.document.path,
                    line=item.document.line_of((key,)),
                    field=key,
                )
            )
    return errors


def load_rules(path: str | Path) -> tuple[Rule, ...]:
    """Load every rule of one rule file.

    Args:
        path: A YAML file with one or more rule documents.

    Returns:
        The rules, in file order.

    Raises:
        RuleFileError: The file is malformed (the message names file, line and field).
        CatalogError: The file has several errors; each is listed.
    """
    return tuple(item.rule for item in _load_file(Path(path)))


def load_rule(path: str | Path) -> Rule:
    """Load the one rule of a rule file.

    Args:
        path: A YAML file with exactly one rule document.

    Returns:
        The validated rule.

    Raises:
        RuleFileError: The file is malformed, or holds several rules (use :func:`load_rules`).
    """
    rules = load_rules(path)
    if len(rules) != 1:
        raise RuleFileError(
            f"the file holds {len(rules)} rules; load them with load_rules() or load_catalog()",
            path=path,
        )
    return rules[0]


@dataclass(frozen=True)
class Catalog:
    """A validated set of rules and the file each came from.

    Attributes:
        rules: The rules, ordered by file name, then by position in the file.
        sources: The file of each rule, by rule id.
    """

    rules: tuple[Rule, ...]
    sources: Mapping[uuid.UUID, Path] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, key: str | uuid.UUID) -> Rule:
        """Return the rule with this id or name.

        Raises:
            KeyError: No rule has that id or name.
        """
        for rule in self.rules:
            if str(rule.id) == str(key) or rule.name == key:
                return rule
        raise KeyError(key)


def default_catalog_path() -> Path:
    """Return the folder of the catalog that ships with rmmdetect."""
    return Path(str(resources.files("rmmdetect.catalog")))


def rule_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files and folders into the sorted rule files they name.

    Raises:
        RuleFileError: A path does not exist.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in _RULE_SUFFIXES and p.is_file())
            )
        elif path.is_file():
            found.append(path)
        else:
            raise RuleFileError("no such file or folder", path=path)
    return found


def load_catalog(path: str | Path | Sequence[str | Path] | None = None) -> Catalog:
    """Load and validate a catalog: every rule file under one or more folders or files.

    Args:
        path: Folders or files; the bundled catalog when ``None``.

    Returns:
        The catalog.

    Raises:
        CatalogError: Any file is malformed, or two rules share an id or a name; every error
            found is listed.
    """
    paths = [default_catalog_path()] if path is None else path
    if isinstance(paths, str | Path):
        paths = [paths]
    errors: list[RuleFileError] = []
    loaded: list[_Loaded] = []
    for source in rule_files(paths):
        try:
            loaded.extend(_load_file(source))
        except RuleFileError as error:
            errors.append(error)
        except CatalogError as error:
            errors.extend(error.errors)
    errors.extend(_duplicates(loaded, "the catalog"))
    if errors:
        raise CatalogError(errors)
    rules = tuple(item.rule for item in loaded)
    sources = {item.rule.id: item.document.path for item in loaded}
    logger.debug("loaded %d rules from %s", len(rules), ", ".join(map(str, paths)))
    return Catalog(rules, sources)
