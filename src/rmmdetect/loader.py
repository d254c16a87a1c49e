"""Reading rule files and catalogs into validated models, with errors that point at the line.

A rule file is a YAML stream of one or more rule documents (one file per RMM tool, one
document per rule). YAML is read strictly: a repeated key is an error, not a silent overwrite,
and every validation error names the file, the line, the field and what is allowed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rmmdetect.errors import CatalogError, RuleFileError
from rmmdetect.model import Rule

__all__ = [
    "Catalog",
    "default_catalog_path",
    "load_catalog",
    "load_rule",
    "load_rules",
    "load_yaml_documents",
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
    lines[location] = node.start_mark.line + 1
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
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        line = mark.line + 1 if mark is not None else None
        raise RuleFileError(f"not valid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as error:
        raise RuleFileError(f"not valid YAML: {error}", path=path) from None
    finally:
        loader.dispose()
    return documents


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
    for part in location:
        found, inner = _step(data, part)
        if found:
            data = inner
            clean.append(part)
        elif isinstance(data, Mapping) and part == "values" and "value" in data:
            data = data["value"]
            clean.append("value")
        elif not isinstance(data, Mapping | list) or part in ("all", "any", "not", "match"):
            continue
        else:
            clean.append(part)
            data = None
    return clean


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known key",
}


def _problem(error: Mapping[str, Any], clean: Sequence[str | int]) -> str:
    kind = error["type"]
    if kind == "missing" and clean and clean[-1] == "values":
        return "a match needs 'value' (one) or 'values' (a list)"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        message += f" (got {type(error['input']).__name__} {error['input']!r})"
    return message


def _validation_errors(error: ValidationError, document: Document) -> list[RuleFileError]:
    found: list[RuleFileError] = []
    for item in error.errors():
        clean = _clean_location(document.data, item["loc"])
        field_name = ".".join(str(part) for part in clean) or None
        found.append(
            RuleFileError(
                _problem(item, clean),
                path=document.path,
                line=document.line_of(clean),
                field=field_name,
            )
        )
    # A failed child also makes its parent's list look short; keep the root cause only.
    specific = [e for e in found if not e.problem.startswith("Tuple should have at least")]
    return specific or found


def _rule_from(document: Document) -> Rule:
    if not isinstance(document.data, Mapping):
        raise RuleFileError(
            f"a rule document must be a mapping of keys, not {type(document.data).__name__}",
            path=document.path,
            line=document.line_of(()),
        )
    try:
        return Rule.model_validate(document.data)
    except ValidationError as error:
        errors = _validation_errors(error, document)
        if len(errors) == 1:
            raise errors[0] from None
        raise CatalogError(errors) from None


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
    source = Path(path)
    documents = load_yaml_documents(source)
    if not documents:
        raise RuleFileError("the file holds no rule", path=source)
    rules = tuple(_rule_from(document) for document in documents)
    _check_unique(source, rules, documents)
    return rules


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


def _check_unique(source: Path, rules: Sequence[Rule], documents: Sequence[Document]) -> None:
    seen: dict[uuid.UUID, int] = {}
    for index, rule in enumerate(rules):
        line = documents[index].line_of(("id",))
        if rule.id in seen:
            raise RuleFileError(
                f"rule id {rule.id} is used twice in this file (document {seen[rule.id] + 1})",
                path=source,
                line=line,
                field="id",
            )
        seen[rule.id] = index


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
    rules: list[Rule] = []
    sources: dict[uuid.UUID, Path] = {}
    names: dict[str, Path] = {}
    for source in rule_files(paths):
        try:
            loaded = load_rules(source)
        except RuleFileError as error:
            errors.append(error)
            continue
        except CatalogError as error:
            errors.extend(error.errors)
            continue
        for rule in loaded:
            if rule.id in sources:
                errors.append(
                    RuleFileError(
                        f"rule id {rule.id} is already used by {sources[rule.id]}; "
                        "every rule needs its own id",
                        path=source,
                        field="id",
                    )
                )
                continue
            if rule.name.lower() in names:
                errors.append(
                    RuleFileError(
                        f"rule name '{rule.name}' is already used by {names[rule.name.lower()]}",
                        path=source,
                        field="name",
                    )
                )
                continue
            sources[rule.id] = source
            names[rule.name.lower()] = source
            rules.append(rule)
    if errors:
        raise CatalogError(errors)
    logger.debug("loaded %d rules from %s", len(rules), ", ".join(map(str, paths)))
    return Catalog(tuple(rules), sources)
