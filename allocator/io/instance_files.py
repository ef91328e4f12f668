"""Read and write instances: one JSON or YAML document, or a folder of CSV tables.

CSV layout (one file per table, list fields separated by `;`):

- `instance.csv`: `name, horizon_start, horizon_end[, format]` (one row)
- `bases.csv`: `id, name, sector, lat, lon[, timezone]`
- `sectors.csv`: `id, name`
- `coverage.csv` (optional): `sector, start, end, capability, count, penalty_per_hour`
- `aircraft_types.csv`: `id, category, cruise_kt, endurance_min, turnaround_min, cost_per_hour, capabilities`
- `aircraft.csv`: `id, type, home_base, available_from, hours_available, relocatable`
- `maintenance.csv` (optional): `aircraft, start, end`
- `requests.csv`: `id, agency, unit, sector, mission, lat, lon, window_start, window_end,
  duration_min, capabilities, aircraft_types, aircraft_count, priority, value, target, submitted_at`
- `policy.csv` (optional): `key, value` (values are JSON, or else YAML)

Every `.csv` file in the folder must be one of these tables (other files and hidden ones are ignored); a
list item holding `,`, `|`, `[`, `]` or a quote is an error (lists are separated by `;`), as is a header
naming a column twice. Empty cells mean "not given"; blank lines are skipped; a UTF-8 byte-order mark is
fine (in JSON and YAML too). A cell in a column the loader builds itself (`maintenance` in aircraft.csv,
`coverage` in sectors.csv, `window` in requests.csv) is an error, as is a policy.csv column other than
`key, value`.

Every problem becomes one `InputError` sentence that names the file (for a CSV
folder, the table), the record and the field:
`<file>: <record kind> '<id>', field '<field>': <problem>.`
"""

from __future__ import annotations

import csv
import difflib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args, get_origin

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from allocator.domain import Instance, InstanceRuleError, count, known_hint, printable
from allocator.errors import InputError

CSV_TABLES = {
    "instance": "instance.csv",
    "bases": "bases.csv",
    "sectors": "sectors.csv",
    "coverage": "coverage.csv",
    "aircraft_types": "aircraft_types.csv",
    "aircraft": "aircraft.csv",
    "maintenance": "maintenance.csv",
    "requests": "requests.csv",
    "policy": "policy.csv",
}
_LIST_FIELDS = {"capabilities", "aircraft_types"}
_REQUIRED_TABLES = ("instance", "bases", "sectors", "aircraft_types", "aircraft", "requests")


class _StrictYamlLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses a mapping with the same key twice (YAML says keys are unique)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one node; a value Python cannot build (a 5000-digit number, month 13) is an error at its place."""
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:
            text = node.value if isinstance(node, yaml.ScalarNode) else None
            raise yaml.constructor.ConstructorError(None, None, value_problem(exc, text), node.start_mark) from None


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_unique_mapping(loader: _StrictYamlLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping whose written keys are unique; a key written beside `<<` overrides the merged one, as YAML allows."""
    seen: set[Any] = set()
    for key_node, _ in node.value:  # before flattening: only the keys written in this mapping
        key = "<<" if key_node.tag == _MERGE_TAG else loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: let the ordinary constructor report it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)  # merged keys first, so the written ones win


_StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)

_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


def _without_base_60(regexp: re.Pattern[str]) -> re.Pattern[str]:
    """A YAML 1.1 number pattern that no longer matches the base-60 forms, the only ones with a ':'."""
    return re.compile(r"(?![^:]*:)" + regexp.pattern, regexp.flags)


# YAML 1.1 reads `hours_available: 7:30` as 450 and `1:30` as 90 (base 60): here they stay the text '7:30',
# which the model then refuses as not a number. Every other int, float, timestamp and boolean reads as before.
_StrictYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, _without_base_60(regexp) if tag in _NUMBER_TAGS else regexp) for tag, regexp in resolvers]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _DuplicateKeyError(ValueError):
    """A JSON object with the same key twice."""


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            owner = dict(pairs).get("id")
            where = f" in the object with id '{owner}'" if isinstance(owner, str | int) else ""
            raise _DuplicateKeyError(f"the key '{key}' appears twice{where}")
        result[key] = value
    return result


_TOO_DEEP = "lists and mappings are nested too deeply"


def value_problem(exc: ValueError, text: str | None = None) -> str:
    """Plain words for a value Python refuses to build (a whole number with too many digits, an impossible date)."""
    digits = re.search(r"value has (\d+) digits", str(exc))
    if digits:
        return f"a whole number has {digits[1]} digits (at most {sys.get_int_max_str_digits()} are allowed)"
    reason = _one_line(str(exc)).rstrip(".")
    return reason if text is None else f"cannot read {render_value(text)} ({reason})"


def _long_number_at(text: str) -> str:
    """' at line L, column C' of the first whole number too long to convert, or '' if none is found."""
    found = re.search(rf"(?<![\w.])\d{{{sys.get_int_max_str_digits() + 1},}}(?![\w.])", text)
    if found is None:
        return ""
    line = text.count("\n", 0, found.start()) + 1
    return f" at line {line}, column {found.start() - text.rfind(chr(10), 0, found.start())}"


def _document_text(path: Path) -> str:
    """The text of a document file, without a UTF-8 byte-order mark; an unreadable file is an `InputError`."""
    _regular_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded).") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    return text.removeprefix("\ufeff")


def _regular_file(path: Path) -> None:
    """A named pipe or a device would block the read or never end: only regular files are read."""
    if path.exists() and not path.is_dir() and not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe or a device); give a file.")


def _read_json(path: Path, text: str) -> Any:
    """Parse JSON text with unique keys; any problem is an `InputError` naming the file and the place.

    An empty file (or one of white space only) is None, as in YAML: the caller says the file is empty."""
    if not text.strip():
        return None
    try:
        return json.loads(text, object_pairs_hook=_unique_json_object)
    except json.JSONDecodeError as exc:
        problem = _JSON_PROBLEMS.get(exc.msg, exc.msg)
        raise InputError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {problem}.") from None
    except _DuplicateKeyError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}.") from None
    except RecursionError:
        raise InputError(f"{path}: cannot be read: its {_TOO_DEEP}.") from None
    except ValueError as exc:  # a whole number longer than Python converts
        raise InputError(f"{path}: not valid JSON{_long_number_at(text)}: {value_problem(exc)}.") from None


# The JSON decoder's messages that end in "at" (its own text goes on with the place, given here apart).
_JSON_PROBLEMS = {
    "Invalid control character at": "a control character such as a tab or a line break inside a string "
    "(write it as an escape: \\t, \\n)",
    "Unterminated string starting at": "a string that starts here is never closed",
}


def _read_yaml(path: Path, text: str) -> Any:
    """Parse YAML text with unique keys; any problem is an `InputError` naming the file and the place."""
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)  # a SafeLoader subclass
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow anywhere (a NUL byte, ...)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        raise InputError(
            f"{path}: not valid YAML at line {line}, column {column}: {_character_name(exc.character)} "
            "is not allowed in YAML text."
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        context = getattr(exc, "context", None)
        if problem and context and str(problem).startswith("but "):  # "but found another document" needs its start
            problem = f"{context}, {problem}"
        detail = f": {_one_line(printable(str(problem)))}" if problem else ""
        raise InputError(f"{path}: not valid YAML{where}{detail}.") from None
    except RecursionError:
        raise InputError(f"{path}: cannot be read: its {_TOO_DEEP}.") from None


def _character_name(character: str | int) -> str:
    """`the character U+0000 (a NUL byte)`: a character that cannot be shown as itself."""
    code = character if isinstance(character, int) else ord(character)
    return f"the character U+{code:04X}" + (" (a NUL byte)" if code == 0 else "")


def read_document(path: Path) -> Any:
    """Parse a JSON or YAML file, naming the file and the place of a syntax error."""
    text = _document_text(path)
    if path.suffix.lower() == ".json":
        return _read_json(path, text)
    return _read_yaml(path, text)


DOCUMENT_SUFFIXES = frozenset({".json", ".yaml", ".yml"})  # instance, plan and scenario files alike


def read_mapping(path: Path, kind: str, expected: str) -> dict[str, Any]:
    """A JSON or YAML document holding a mapping: a file of another suffix (a `plan.csv` would be parsed as
    YAML), or a document of another shape, is an `InputError` naming the file."""
    if path.suffix.lower() not in DOCUMENT_SUFFIXES:
        if not path.exists():
            raise InputError(f"{path}: no such file.")
        raise InputError(f"{path}: unknown {kind} format (expected .json, .yaml or .yml).")
    data = read_document(path)
    if not isinstance(data, dict):
        found = "nothing (the file is empty)" if data is None else render_value(data)
        raise InputError(f"{path}: expected {expected} at the top level, found {found}.")
    return data


def load_instance(path: str | Path) -> Instance:
    """Load and validate an instance from a JSON/YAML file or a folder of CSV tables."""
    with one_line_errors():
        return _load_instance(Path(path))


@contextmanager
def one_line_errors() -> Iterator[None]:
    """An `InputError` raised inside leaves with its control characters escaped: an id or a cell holding a line
    break or a right-to-left override must not break the sentence over lines or reorder it on the terminal."""
    try:
        yield
    except InputError as exc:
        text = printable(str(exc))
        if text == str(exc):
            raise
        raise InputError(text) from None


def _load_instance(path: Path) -> Instance:
    if path.is_dir():
        data, sources = _read_csv_folder(path)
        return validate_instance(data, path, sources)
    if path.suffix.lower() not in DOCUMENT_SUFFIXES:  # an instance may also be a folder of CSV tables
        if not path.exists():
            raise InputError(f"{path}: no such file or folder.")
        raise InputError(f"{path}: unknown instance format (expected .json, .yaml, .yml or a CSV folder).")
    return validate_instance(read_mapping(path, "instance", "a mapping of instance keys"), path, {})


def validate_instance(data: dict[str, Any], path: Path, sources: dict[str, Path] | None = None) -> Instance:
    """Validate raw instance data; errors become one `InputError` sentence."""
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, data, path, sources or {})) from None


# -- one sentence per validation error ---------------------------------------------------------

_SINGULAR = {
    "bases": "base",
    "sectors": "sector",
    "aircraft_types": "aircraft type",
    "aircraft": "aircraft",
    "requests": "request",
    "instance": "instance",
    "sorties": "sortie",
    "relocations": "relocation",
    "unserved": "unserved request",
    "coverage": "coverage entry",
}
# Sections that are one record without an id: named by their own kind, not by the document.
_SECTIONS = {"policy"}
# In a CSV folder these nested lists live in a table of their own.
_CSV_CHILDREN = {"aircraft": ("maintenance", "maintenance window"), "sectors": ("coverage", "coverage rule")}
_CSV_COLUMNS = {
    "window.start": "window_start",
    "window.end": "window_end",
    "window": "window_start",
    "horizon.start": "horizon_start",
    "horizon.end": "horizon_end",
    "horizon": "horizon_start",
}
_LEAP_SECOND = re.compile(r"[T ]\d\d:\d\d:60")
_DATETIME_ERRORS = {"datetime_parsing", "datetime_from_date_parsing", "datetime_type", "datetime_object_invalid"}


def describe_validation_error(
    exc: ValidationError,
    data: dict[str, Any],
    path: Path,
    sources: dict[str, Path],
    *,
    document: str = "instance",
    model: type[BaseModel] | None = Instance,
    error: Any = None,
) -> str:
    """One sentence naming the file, the record and the field of the first error.

    `sources` maps a collection to the CSV file it came from (empty for a JSON/YAML
    document); `document` names the kind of the whole document ("instance", "plan")
    and `model` is its schema, used to suggest a field for a misspelt key; `error`, one of `exc.errors()`, is
    the one to describe (by default the first, or the unknown key that explains it).
    """
    errors = exc.errors()
    first = error if error is not None else _first_error(errors)
    more = f" ({count(len(errors) - 1, 'more problem')} after this one)" if len(errors) > 1 else ""
    original = (first.get("ctx") or {}).get("error")
    if isinstance(original, InstanceRuleError):
        if original.collection == document:
            where = sources.get(original.field, sources.get(document, path))
        else:
            where = sources.get(original.collection, path)
        message = _one_line(printable(original.message)).rstrip(".")
        record = printable(original.record)
        return f"{where}: {_singular(original.collection)} '{record}', field '{original.field}': {message}{more}."
    loc = list(first["loc"])
    where, record, field = _locate(loc, data, path, sources, document)
    problem = describe_problem(first, loc, model)
    subject = record if field is None else f"{record}, field '{field}'"
    return f"{where}: {subject}: {problem}{more}."


def _first_error(errors: list[Any]) -> Any:
    """The error to report: the first, unless it is a missing field of a record that also has an unknown key
    (`home_base ` or `Cruise_kt` written for the missing one): the unknown key explains the missing field."""
    first = errors[0]
    if first["type"] != "missing":
        return first
    parent = tuple(first["loc"][:-1])
    for error in errors:
        if error["type"] == "extra_forbidden" and tuple(error["loc"][:-1]) == parent:
            return error
    return first


def _locate(
    loc: list[Any], data: dict[str, Any], path: Path, sources: dict[str, Path], document: str
) -> tuple[Path, str, str | None]:
    """(file, record label, field) of an error location."""
    csv = bool(sources)
    if not loc:
        return sources.get(document, path), _document_label(data, document), None
    head = str(loc[0])
    rest = loc[1:]
    records = data.get(head)
    if rest and isinstance(rest[0], int) and isinstance(records, list):
        index = rest[0]
        record = records[index] if index < len(records) else None
        label = _record_label(head, index, record)
        tail = rest[1:]
        where = sources.get(head, path)
        child = _CSV_CHILDREN.get(head)
        if csv and child and len(tail) >= 2 and tail[0] == child[0] and isinstance(tail[1], int):
            where = sources.get(child[0], where)
            label += f", {child[1]} {tail[1] + 1}"
            tail = tail[2:]
        return where, label, field_path(tail, csv) if tail else None
    if head in _SECTIONS and rest:
        return sources.get(head, path), head, field_path(rest, csv)
    where = sources.get(head, sources.get(document, path))
    return where, _document_label(data, document), field_path(loc, csv)


def _document_label(data: dict[str, Any], document: str) -> str:
    key = "instance" if document == "plan" else "name"
    name = data.get(key)
    if isinstance(name, str | int) and not isinstance(name, bool) and str(name):
        name = _short(printable(str(name)))
        return f"{document} for instance '{name}'" if document == "plan" else f"{document} '{name}'"
    return document


def _short(label: str) -> str:
    """A name shown in a message: cut to 60 characters (a 201-character id would fill the screen)."""
    return f"{label[:57]}..." if len(label) > 60 else label


def _record_label(collection: str, index: int, record: Any) -> str:
    kind = _singular(collection)
    if isinstance(record, dict):
        rid = record.get("id")
        if isinstance(rid, str | int) and not isinstance(rid, bool) and str(rid):
            return f"{kind} '{_short(printable(str(rid)))}'"
        if collection == "unserved" and isinstance(record.get("request"), str):
            return f"{kind} '{printable(record['request'])}'"
        named = [
            f"{key} '{printable(record[key])}'" for key in ("aircraft", "request") if isinstance(record.get(key), str)
        ]
        if named:
            return f"{kind} number {index + 1} ({', '.join(named)})"
    return f"{kind} number {index + 1}"


def describe_problem(error: Any, loc: list[Any], model: type[BaseModel] | None) -> str:
    """The problem part of the sentence, in plain words, with the offending value where it helps."""
    kind = error["type"]
    msg = _one_line(error["msg"]).rstrip(".")
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(loc, model)
    if kind == "missing":
        return "required field is missing"
    if kind in {"value_error", "assertion_error"}:
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = render_value(value)
    if loc and loc[-1] == "[key]":  # a mapping's key, not its value, is wrong (`priority_weights: {x: 5}`)
        return f"the key {got} {describe_problem(error, loc[:-1], model).removeprefix(got + ' ')}"
    if kind == "timezone_aware":
        return f"the instant {got} has no UTC offset (naive instants are not allowed; add one such as -07:00 or Z)"
    if kind in _DATETIME_ERRORS:
        detail = msg.split(", ", 1)[1] if ", " in msg else ""
        if isinstance(value, str) and _LEAP_SECOND.search(value):
            detail = "second 60, a leap second, cannot be represented; write :59"
        return f"{got} is not an ISO 8601 instant with a UTC offset" + (f" ({detail})" if detail else "")
    if kind in {"float_parsing", "float_type"}:
        return f"{got} is not a number"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{got} is not a whole number"
    if kind == "int_parsing_size":
        return f"{got} is too large a number"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{got} is not true or false"
    if kind == "finite_number":
        return f"{got} is not a finite number"
    if kind == "string_too_short" and value == "":
        return "must not be empty"
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"{got} is longer than {limit} characters" if limit else f"{got} is too long"
    if kind == "string_type":
        hint = "; put it in quotes" if isinstance(value, bool | date) else ""
        return f"expected text, got {got}{hint}"
    if kind == "invalid_key":
        return f"a field name must be text, got {got} (put it in quotes)"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping of fields, got {got}"
    if kind == "list_type":
        return f"expected a list, got {got}"
    if msg.startswith("Input should be "):
        msg = "must be " + msg.removeprefix("Input should be ")
    return f"{msg}, got {got}"


def _unknown_field(loc: list[Any], model: type[BaseModel] | None) -> str:
    name = str(loc[-1]) if loc else ""
    owner = model_at(model, loc[:-1]) if model is not None else None
    if owner is None:
        return "unknown field (not in the schema)"
    fields = list(owner.model_fields)
    if not fields:
        return "unknown field"
    close = [f for f in fields if name and (f.startswith(name) or name.startswith(f))]
    close = close or difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    if close:
        return f"unknown field (did you mean '{close[0]}'?)"
    return f"unknown field (the known ones are {', '.join(fields)})"


def model_at(model: type[BaseModel], loc: list[Any]) -> type[BaseModel] | None:
    """The model of the record at `loc` (list indexes and the keys of a mapping field are stepped over)."""
    current: type[BaseModel] | None = model
    key_next = False
    for part in loc:
        if isinstance(part, int):
            continue
        if key_next:  # a key of a mapping field (`coverage: {TUC: [...]}`), not a field name
            key_next = False
            continue
        if current is None or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        key_next = _is_mapping(annotation)
        current = _model_in(annotation)
    return current


def _is_mapping(annotation: Any) -> bool:
    return get_origin(annotation) is dict or any(_is_mapping(arg) for arg in get_args(annotation))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def render_value(value: Any) -> str:
    """A short rendering of an offending input value for an error message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime | date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        if value != value.strip():  # blanks around it: show them, escaped
            text = json.dumps(value)
            return f'{text[:57]}..."' if len(text) > 60 else text
        text = printable(_one_line(value))  # blanks inside as one space, control characters escaped
        return f"'{text[:57]}...'" if len(text) > 60 else f"'{text}'"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def field_path(loc: list[Any], csv: bool = False) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for a mapping's key: the problem says "the key"
            name = printable(str(part))
            text += ("." if text else "") + (f"{name[:57]}..." if len(name) > 60 else name)
    if csv:
        for dotted, column in _CSV_COLUMNS.items():
            if text == dotted or text.startswith(dotted + "."):
                return column + text[len(dotted) :]
    return text


def _singular(collection: str) -> str:
    return _SINGULAR.get(collection, collection)


# -- CSV folders -------------------------------------------------------------------------------

_INSTANCE_COLUMNS = ("name", "horizon_start", "horizon_end", "format")
# Columns the loader builds from other tables or columns: a cell in one would be silently replaced.
_BUILT_COLUMNS = {
    "aircraft": {"maintenance": "maintenance windows go in maintenance.csv, one row per window"},
    "sectors": {"coverage": "coverage rules go in coverage.csv, one row per rule"},
    "requests": {"window": "give the window as window_start and window_end"},
}
_POLICY_COLUMNS = ("key", "value")
# A header cell holding one of these was written with another separator than the comma.
_OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


def _record_lines(path: Path) -> list[int] | None:
    """The line each record after the header starts on (a quoted cell may span lines); None if unreadable."""
    # A row with more cells than the header is an error here: pandas would take its header for an index's and
    # shift every cell of the table by one column. A file the csv module cannot read is left to pandas to report.
    lines: list[int] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle, skipinitialspace=True)
            header = next(rows, None)
            if header is not None:
                _refuse_repeated_columns(path, header, rows.line_num)
            start = rows.line_num + 1
            for row in rows:
                if header is not None and len(row) > len(header):
                    raise InputError(
                        f"{path}: line {start} has {len(row)} cells but the header has {len(header)} columns."
                    )
                lines.append(start)
                start = rows.line_num + 1
    except (UnicodeDecodeError, csv.Error):
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    return lines


def _refuse_repeated_columns(path: Path, header: list[str], line: int) -> None:
    """A column named twice in the header is an error (pandas would rename the second one `name.1`)."""
    first: dict[str, int] = {}
    for number, cell in enumerate(header, start=1):
        name = cell.strip()
        if name and name in first:
            raise InputError(
                f"{path}: header on line {line}, field {render_value(name)}: the column is given twice "
                f"(columns {first[name]} and {number})."
            )
        first.setdefault(name, number)


def _unclosed_quote(path: Path, kind: str) -> str:
    """Where a quoted cell that is never closed opens: `<record> on line N, field 'f'` (or the line alone)."""
    # The open quote runs to the end of the file, so it opens the last cell of the last record.
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle, skipinitialspace=True)
            header: list[str] = []
            record: list[str] = []
            start = end = 1
            for row in rows:
                header = header or row
                record, start, end = row, end, rows.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return "line ?"
    if not record:
        return "line ?"
    line = start + sum(cell.count("\n") for cell in record[:-1])
    if record is header and start == 1:
        return f"header on line {line}"
    label = _row_label(kind, start, {"id": record[0].strip()} if header[:1] == ["id"] and len(record) > 1 else {})
    if start != line:
        label += f" (its cell opening on line {line})"
    column = len(record) - 1
    return f"{label}, field {render_value(header[column].strip())}" if column < len(header) else label


def _read_frame(path: Path, required: bool, kind: str = "record") -> pd.DataFrame | None:
    """The cells of one CSV file as text; None for an empty optional table."""
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        if required:
            raise InputError(f"{path}: the table is empty (expected a header row).") from None
        return None
    except pd.errors.ParserError as exc:
        text = _one_line(str(exc)).rstrip(".")
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if ragged:
            header, line, cells = ragged.groups()
            raise InputError(f"{path}: line {line} has {cells} cells but the header has {header} columns.") from None
        if "EOF inside string" in text:
            raise InputError(
                f"{path}: {_unclosed_quote(path, kind)}: a quoted cell is never closed (its opening '\"' has no "
                "closing '\"' before the end of the file)."
            ) from None
        raise InputError(f"{path}: not a readable CSV table ({text}).") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded).") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


def _check_header(path: Path, table: str, columns: list[str]) -> None:
    """A header written with another separator, or naming none of the table's columns, is an error."""
    # Otherwise every row would report its own missing fields ("aircraft number 1, field 'id' ...").
    for column in columns:
        for separator, name in _OTHER_SEPARATORS.items():
            if separator in column:
                raise InputError(
                    f"{path}: header on line 1, field {render_value(column)}: not a column name; the table seems to be "
                    f"separated by {name} rather than commas."
                )
    known = _INSTANCE_COLUMNS if table == "instance" else _CSV_HEADERS[table]
    if columns and not set(columns) & set(known):
        raise InputError(
            f"{path}: header on line 1, field {render_value(columns[0])}: unknown column, and the header names none "
            f"of the table's columns ({', '.join(known)}), so the header row seems to be missing."
        )


def _read_table(folder: Path, table: str) -> list[tuple[int, dict[str, Any]]] | None:
    """The rows of one table as (line number, cells), blank lines and empty cells left out."""
    path = folder / CSV_TABLES[table]
    required = table in _REQUIRED_TABLES
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a CSV file.")
    if not path.exists():
        if required:
            names = ", ".join(CSV_TABLES[name] for name in _REQUIRED_TABLES)
            raise InputError(f"{path}: no such file (an instance folder needs {names}).")
        return None
    _regular_file(path)
    lines = _record_lines(path)
    frame = _read_frame(path, required, _singular(table))
    if frame is None:
        return []
    frame.columns = _column_names(path, [str(col).strip() for col in frame.columns])
    _check_header(path, table, [col for col in frame.columns if not col.startswith(_UNNAMED)])
    if lines is None or len(lines) != len(frame):
        lines = list(range(2, len(frame) + 2))  # line 1 is the header
    rows = []
    for line, raw in zip(lines, frame.to_dict(orient="records"), strict=True):
        row: dict[str, Any] = {}
        unnamed: list[tuple[str, str]] = []
        for key, value in raw.items():
            value = value.strip()
            if value == "":
                continue
            if str(key).startswith(_UNNAMED):
                unnamed.append((str(key).removeprefix(_UNNAMED), value))
            elif key in _LIST_FIELDS:
                row[str(key)] = [v.strip() for v in value.split(";") if v.strip()]
            else:
                row[str(key)] = value
        if unnamed:
            column, value = unnamed[0]
            raise InputError(
                f"{path}: {_row_label(_singular(table), line, row)}, column {column}: the cell {render_value(value)} "
                "is in a column that the header on line 1 gives no name."
            )
        if row:
            _refuse_list_separators(path, _singular(table), line, row)
            rows.append((line, row))
    return rows


_UNNAMED = "\0column "
"""How a column whose header cell is empty is named while its table is read (pandas would call it `Unnamed: 2`)."""


def _column_names(path: Path, columns: list[str]) -> list[str]:
    """The table's column names, with a column whose header cell is empty named `_UNNAMED` and its number."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = [cell.strip() for cell in next(csv.reader(handle, skipinitialspace=True), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        header = columns
    return [
        f"{_UNNAMED}{number}" if not name or (number <= len(header) and not header[number - 1]) else name
        for number, name in enumerate(columns, start=1)
    ]


# A list item holding one of these was written with another separator than ';' (or as a JSON list).
_NOT_IN_LIST_ITEMS = re.compile(r"[,|\[\]\"']")


def _refuse_list_separators(path: Path, kind: str, line: int, row: dict[str, Any]) -> None:
    """`eo_ir,night_vision`, `eo_ir|night_vision` or `["eo_ir"]` in a list column is an error, not one item."""
    for column in _LIST_FIELDS:
        for item in row.get(column, []):
            found = _NOT_IN_LIST_ITEMS.search(item)
            if found is None:
                continue
            items = [part.strip(" []\"'") for part in re.split(r"[,|;]", item)]
            fixed = ";".join(part for part in items if part)
            held = "a quote" if found[0] in "\"'" else render_value(found[0])
            where = (
                f"{path}: {_row_label(kind, line, row)}, field '{column}': the item {render_value(item)} holds {held}"
            )
            if _NOT_IN_LIST_ITEMS.search(fixed):  # no other separator explains it: a stray quote inside a name
                raise InputError(f"{where}, which a list item may not hold.")
            raise InputError(
                f"{where}; the items of a list are separated by ';'" + (f" (write {fixed})." if fixed else ".")
            )


def _row_label(kind: str, line: int, row: dict[str, Any]) -> str:
    """`<kind> '<id>' on line N`, or `<kind> on line N` for a row without an id."""
    return f"{kind} '{row['id']}' on line {line}" if "id" in row else f"{kind} on line {line}"


def _refuse_built_columns(rows: list[tuple[int, dict[str, Any]]], path: Path, table: str, kind: str) -> None:
    """A cell in a column the loader builds itself (aircraft.csv `maintenance`, ...) is an error, not dropped."""
    for line, row in rows:
        for column, where in _BUILT_COLUMNS.get(table, {}).items():
            if column in row:
                raise InputError(
                    f"{path}: {_row_label(kind, line, row)}, field '{column}': this column is not read ({where})."
                )


def _by_id(rows: list[tuple[int, dict[str, Any]]], path: Path, kind: str) -> dict[Any, dict[str, Any]]:
    """Rows keyed by id; a repeated id is an error here, since the dict would silently merge it."""
    records: dict[Any, dict[str, Any]] = {}
    lines: dict[Any, int] = {}
    for line, row in rows:
        key = row.get("id", f"\0line {line}")  # a row without id is kept; validation reports the missing id
        if key in records:
            raise InputError(
                f"{path}: {kind} '{key}' on line {line}, field 'id': duplicate id '{key}' (first on line {lines[key]})."
            )
        records[key] = row
        lines[key] = line
    return records


def _ids(records: dict[Any, dict[str, Any]]) -> set[str]:
    """The ids of `_by_id`'s records (a row without an id has a placeholder key, which is no id)."""
    return {str(key) for key in records if not str(key).startswith("\0")}


def _refuse_unknown_tables(folder: Path) -> None:
    """A `.csv` file that is no known table (`maintenence.csv`, `request.csv`) is an error, not ignored.

    Other files (README.md, .DS_Store) and hidden ones (`._aircraft.csv`) are ignored."""
    known = list(CSV_TABLES.values())
    try:
        names = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        raise InputError(f"{folder}: cannot be read ({exc.strerror or exc}).") from None
    unknown = [name for name in names if name.lower().endswith(".csv") and not name.startswith(".")]
    unknown = [name for name in unknown if name not in known]
    if not unknown:
        return
    name = unknown[0]
    # Stems are compared: the shared `.csv` would make `sorties.csv` look like `sectors.csv`.
    close = difflib.get_close_matches(Path(name).stem.lower(), list(CSV_TABLES), n=1, cutoff=0.7)
    hint = f" (did you mean {CSV_TABLES[close[0]]}?)" if close else ""
    others = f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else ""
    raise InputError(f"{folder / name}: unknown table{hint}; the known tables are {', '.join(known)}{others}.")


def _read_csv_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    _refuse_unknown_tables(folder)
    tables = {name: _read_table(folder, name) for name in CSV_TABLES}
    sources = {name: folder / file for name, file in CSV_TABLES.items()}
    sources["horizon"] = sources["name"] = sources["format"] = sources["instance"]
    for table in _BUILT_COLUMNS:
        _refuse_built_columns(tables[table] or [], sources[table], table, _singular(table))
    meta = tables["instance"] or []
    if len(meta) != 1:
        raise InputError(
            f"{sources['instance']}: expected exactly one row (name, horizon_start, horizon_end), found {len(meta)}."
        )
    line, head = meta[0]
    label = f"instance '{head['name']}'" if head.get("name") else "instance"
    for column in head:
        if column not in _INSTANCE_COLUMNS:
            raise InputError(
                f"{sources['instance']}: {label}, field '{column}': unknown column "
                f"(expected {', '.join(_INSTANCE_COLUMNS)})."
            )
    data: dict[str, Any] = {
        "name": head.get("name", folder.name),
        "horizon": _given({"start": head.get("horizon_start"), "end": head.get("horizon_end")}),
    }
    if "format" in head:
        data["format"] = head["format"]
    data["bases"] = [row for _, row in tables["bases"] or []]
    sectors = {
        key: {**row, "coverage": []}
        for key, row in _by_id(tables["sectors"] or [], sources["sectors"], "sector").items()
    }
    for line, row in tables["coverage"] or []:
        sector_id = row.pop("sector", None)
        if sector_id not in sectors:
            problem = (
                "required field is missing"
                if sector_id is None
                else f"unknown sector '{sector_id}'{known_hint('sectors', _ids(sectors))}"
            )
            raise InputError(f"{sources['coverage']}: coverage rule on line {line}, field 'sector': {problem}.")
        sectors[sector_id]["coverage"].append(row)
    data["sectors"] = list(sectors.values())
    data["aircraft_types"] = [row for _, row in tables["aircraft_types"] or []]
    aircraft = {
        key: {**row, "maintenance": []}
        for key, row in _by_id(tables["aircraft"] or [], sources["aircraft"], "aircraft").items()
    }
    for line, row in tables["maintenance"] or []:
        tail = row.pop("aircraft", None)
        if tail not in aircraft:
            problem = (
                "required field is missing"
                if tail is None
                else f"unknown aircraft '{tail}'{known_hint('aircraft', _ids(aircraft))}"
            )
            raise InputError(
                f"{sources['maintenance']}: maintenance window on line {line}, field 'aircraft': {problem}."
            )
        aircraft[tail]["maintenance"].append(row)
    data["aircraft"] = list(aircraft.values())
    requests = []
    for _, row in tables["requests"] or []:
        window = _given({"start": row.pop("window_start", None), "end": row.pop("window_end", None)})
        requests.append({**row, "window": window})
    data["requests"] = requests
    if tables["policy"] is not None:
        data["policy"] = _read_policy(tables["policy"], sources["policy"])
    return data, sources


def _given(cells: dict[str, Any]) -> dict[str, Any]:
    """The cells that are given: an empty one is "not given", so that validation says the field is missing."""
    return {key: value for key, value in cells.items() if value is not None}


def _policy_value(text: str, where: str) -> Any:
    """A policy.csv value: JSON, or else YAML; a key repeated in a mapping is an error in both."""
    try:
        try:
            return json.loads(text, object_pairs_hook=_unique_json_object)
        except json.JSONDecodeError:
            return yaml.load(text, Loader=_StrictYamlLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as exc:
        problem = f"in the value, {exc}"
    except yaml.constructor.ConstructorError as exc:  # a repeated key, a number too long, an impossible date
        problem = f"in the value, {_one_line(str(exc.problem)).rstrip('.')}"
    except yaml.YAMLError:
        problem = f"the value {text!r} is neither JSON nor YAML"
    except RecursionError:
        problem = f"in the value, {_TOO_DEEP}"
    except ValueError as exc:  # a whole number longer than Python converts, written as JSON
        problem = f"in the value, {value_problem(exc)}"
    raise InputError(f"{where}: {problem}.")


def _read_policy(rows: list[tuple[int, dict[str, Any]]], path: Path) -> dict[str, Any]:
    """The policy mapping of policy.csv (one `key, value` row per key); every problem names its line."""
    policy: dict[str, Any] = {}
    for line, row in rows:
        for column in row:
            if column not in _POLICY_COLUMNS:
                raise InputError(
                    f"{path}: policy row on line {line}, field '{column}': unknown column "
                    f"(expected {', '.join(_POLICY_COLUMNS)})."
                )
        key = row.get("key")
        if key is None:
            raise InputError(f"{path}: policy row on line {line}, field 'key': required field is missing.")
        if key in policy:
            raise InputError(f"{path}: policy, field '{key}': given twice (again on line {line}).")
        where = f"{path}: policy on line {line}, field {render_value(key)}"
        if "value" not in row:
            raise InputError(f"{where}: the value cell is empty (leave the row out to keep the default).")
        policy[key] = _policy_value(row["value"], where)
    return policy


def instance_document(instance: Instance) -> dict[str, Any]:
    """The instance as a JSON-ready mapping (defaults left out)."""
    return instance.model_dump(mode="json", exclude_none=True)


def write_instance(instance: Instance, path: str | Path) -> Path:
    """Write an instance as JSON, YAML, or (a path without suffix) a folder of CSV tables."""
    path = Path(path)
    doc = instance_document(instance)
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    elif path.suffix.lower() in {".yaml", ".yml"}:
        atomic_write_text(path, yaml.safe_dump(doc, sort_keys=False))
    else:
        _write_csv_folder(doc, path)
    return path


# The columns of each table, in the documented order; an empty table is written with these headers.
_CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "instance": ("name", "horizon_start", "horizon_end"),
    "bases": ("id", "name", "sector", "lat", "lon", "timezone"),
    "sectors": ("id", "name"),
    "coverage": ("sector", "start", "end", "capability", "count", "penalty_per_hour"),
    "aircraft_types": (
        "id",
        "category",
        "cruise_kt",
        "endurance_min",
        "turnaround_min",
        "cost_per_hour",
        "capabilities",
    ),
    "aircraft": ("id", "type", "home_base", "available_from", "hours_available", "relocatable"),
    "maintenance": ("aircraft", "start", "end"),
    "requests": (
        "id",
        "agency",
        "unit",
        "sector",
        "mission",
        "lat",
        "lon",
        "window_start",
        "window_end",
        "duration_min",
        "capabilities",
        "aircraft_types",
        "aircraft_count",
        "priority",
        "value",
        "target",
        "submitted_at",
    ),
    "policy": ("key", "value"),
}


def _cell(value: Any) -> str:
    """One CSV cell: lists joined with ';', booleans as true/false, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    return str(value)


def _table_text(name: str, rows: list[dict[str, Any]]) -> str:
    columns = list(_CSV_HEADERS[name])
    for row in rows:
        columns += [key for key in row if key not in columns]
    # Every cell is text already, so pandas never turns a column with gaps into floats ("90.0").
    frame = pd.DataFrame([[_cell(row.get(col)) for col in columns] for row in rows], columns=columns, dtype=object)
    return frame.to_csv(index=False)


def _write_csv_folder(doc: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    head = {"name": doc["name"], "horizon_start": doc["horizon"]["start"], "horizon_end": doc["horizon"]["end"]}
    if "format" in doc:
        head["format"] = doc["format"]
    tables: dict[str, list[dict[str, Any]]] = {
        "instance": [head],
        "bases": doc["bases"],
        "sectors": [{k: v for k, v in s.items() if k != "coverage"} for s in doc["sectors"]],
        "coverage": [{"sector": s["id"], **rule} for s in doc["sectors"] for rule in s.get("coverage", [])],
        "aircraft_types": doc["aircraft_types"],
        "aircraft": [{k: v for k, v in a.items() if k != "maintenance"} for a in doc["aircraft"]],
        "maintenance": [{"aircraft": a["id"], **m} for a in doc["aircraft"] for m in a.get("maintenance", [])],
        "requests": [
            {
                **{k: v for k, v in r.items() if k != "window"},
                "window_start": r["window"]["start"],
                "window_end": r["window"]["end"],
            }
            for r in doc["requests"]
        ],
        "policy": [{"key": k, "value": json.dumps(v)} for k, v in doc.get("policy", {}).items()],
    }
    for name, rows in tables.items():
        atomic_write_text(folder / CSV_TABLES[name], _table_text(name, rows))


TEMP_NAME_EXTRA = 16
"""Bytes a temporary sibling's name adds to the file's name (`.NAME.xxxxxxxx.tmp`)."""


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write a file through a temporary sibling and a rename: never half-written. A device or a pipe
    (`/dev/null`, `/dev/stdout`) is written in place: a rename would replace it with a plain file."""
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        path.write_text(text, encoding="utf-8")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(name, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
