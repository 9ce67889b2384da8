"""A recipe: which column is the target, which become features and how, which are left out
and why. It is a TOML file that people read, change and fit again with.

    recipe = load(path)                 # RecipeError naming the file, line and key
    text = dumps(recipe)                # the same recipe as TOML, with its reasons
    recipe = titanic()                  # the lesson's recipe, shipped in recipes/titanic.toml

The keys are in docs/recipes.md; `load` refuses any key
it does not know, so a misspelt option is an error, not a silent default.
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from .errors import RecipeError
from .limits import MAGNITUDE_TEXT, MAX_CLASSES, MAX_MAGNITUDE, MAX_NAME
from .summary import short
from .target import KINDS, Target
from .transforms import TRANSFORMS

# Read as a missing value (after stripping), in any column. A recipe can change the list.
MISSING_VALUES = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?")
MISSINGS = ("fill", "drop")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class Rule:
    """A baseline that needs no fitting: a constant, or 1 where one feature has one value."""

    name: str
    title: str
    constant: object = None  # a number, "majority" (binary, classes) or "mean" (number)
    feature: str | None = None
    equals: float | None = None


@dataclass(repr=False)
class Recipe:
    target: Target
    inputs: list  # Number | Category, in feature order
    name: str = "data"  # names the workbook, <name>.xlsx
    title: str = ""
    id: str | None = None  # names each row in the predictions
    missing: str = "fill"  # training rows with a missing input: fill them, or drop them
    missing_values: tuple[str, ...] = MISSING_VALUES
    ones: bool = True  # the constant feature `Ones` (each unit's bias)
    show: list = field(default_factory=list)  # more columns on the Data sheet, to read only
    left_out: dict = field(default_factory=dict)  # column -> why
    baselines: list = field(default_factory=list)  # Rule
    submission: str | None = None  # "kaggle": write Kaggle's submission.csv
    models: list | None = None  # the models fitted when none are asked for (else the registry's default)
    models_reason: str = ""
    source: str = ""  # where it came from, said in the outputs (not part of the file)
    path: str | None = None  # the file it was read from, for errors found later (not part of the file)

    @property
    def columns(self) -> list[str]:
        return [t.column for t in self.inputs]

    @property
    def pixel_columns(self) -> set[str]:
        """The columns of its image, if it has one (a block of pixels)."""
        return {t.column for t in self.inputs if t.kind == "pixels"}

    @property
    def submission_strategy(self):
        """What its predictions file is (submissions.py): Kaggle's submission.csv, or predictions.csv."""
        from .submissions import SUBMISSIONS

        return SUBMISSIONS[self.submission]

    @property
    def workbook_name(self) -> str:
        return f"{self.name}.xlsx"

    def __repr__(self) -> str:
        return (f"Recipe({self.name!r}, target={self.target.column!r} ({self.target.kind}), "
                f"inputs={short(self.columns)}, missing={self.missing!r})")


def titanic() -> Recipe:
    """The lesson's recipe: Kaggle's Titanic columns, its ten features."""
    text = resources.files(__package__).joinpath("recipes/titanic.toml").read_text(encoding="utf-8")
    recipe = loads(text, "titanic.toml (shipped)")
    recipe.source = "the lesson's recipe (titanic_reg/recipes/titanic.toml)"
    return recipe


def load(path) -> Recipe:
    from .table import special_file

    path = Path(path)
    try:
        kind = special_file(path.stat())
        if kind:
            raise RecipeError(path, f"is {kind}, not a recipe file")
        text = path.read_bytes().decode("utf-8-sig")  # an editor's byte-order mark, as for a CSV
    except FileNotFoundError:
        raise RecipeError(path, "recipe file not found") from None
    except IsADirectoryError:
        raise RecipeError(path, "is a directory, not a recipe file") from None
    except UnicodeDecodeError:
        raise RecipeError(path, "is not a UTF-8 text file (a recipe is TOML)") from None
    except OSError as exc:
        raise RecipeError(path, f"cannot read the recipe: {exc.strerror or exc}") from None
    recipe = loads(text, str(path))
    recipe.source = recipe.path = str(path)
    return recipe


def problem(recipe: Recipe, keys: tuple, message: str) -> RecipeError:
    """An error found after reading (by fit): the recipe file's line and key when there is one."""
    key = ".".join(_key_part(k) for k in keys)
    if recipe.path is None:
        return RecipeError(recipe.source or "recipe", message, key=key)
    try:
        line = locate(Path(recipe.path).read_text(encoding="utf-8"), keys)
    except (OSError, UnicodeDecodeError):
        line = None
    return RecipeError(recipe.path, message, line=line, key=key)


def loads(text: str, path: str = "recipe") -> Recipe:
    text = text.removeprefix("\ufeff")
    try:
        doc = tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and inline tables by recursion
        raise RecipeError(path, "not valid TOML for a recipe (arrays or tables nested too deeply)") from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise RecipeError(path, f"not valid TOML ({problem.lower()})", line=line) from None
    return _Reader(doc, text, path).recipe()


class _Keys:
    """One table of a recipe file, as a transform reads it (its `from_toml`): each key's value
    checked (`get`, `scalars`), errors (`fail`) pointing at the file's line."""

    def __init__(self, reader, table: dict, keys: tuple):
        self.reader, self.table, self.keys = reader, table, keys

    def get(self, key, kind, default=None, choices=None):
        return self.reader.get(self.table, self.keys, key, kind, default, choices)

    def scalars(self, key, strings_only=False):
        return self.reader.scalars(self.table, self.keys, key, strings_only)

    def fail(self, key, problem):
        """`key`: one of this table's keys, or a path of keys into the tables nested in it."""
        self.reader.fail((*self.keys, *(key if isinstance(key, tuple) else (key,))), problem)

    def part(self, key, spec: dict, column: str):
        """The transform of a table nested in this one under parts.<key> (a date's part), for `column`."""
        return self.reader.transform(column, spec, (*self.keys, "parts", key))


class _Reader:
    """Builds a Recipe from parsed TOML, checking each key's value; errors point at the line."""

    KEYS = ("name", "title", "id", "missing", "missing_values", "ones", "show", "submission", "models", "models_reason",
           "target", "inputs", "left_out", "baselines")

    def __init__(self, doc: dict, text: str, path: str):
        self.doc, self.text, self.path = doc, text, path

    def fail(self, keys: tuple, problem: str):
        raise RecipeError(self.path, problem, line=locate(self.text, keys), key=".".join(_key_part(k) for k in keys))

    def known(self, table: dict, keys: tuple, allowed) -> None:
        for key in table:
            if key not in allowed:
                self.fail((*keys, key), f"unknown key {key!r} (known: {', '.join(allowed)})")

    def get(self, table: dict, keys: tuple, key: str, kind, default=None, choices=None):
        if key not in table:
            return default
        value = table[key]
        ok = {
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            "scalar": (isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))),
            "list": isinstance(value, list),
            "table": isinstance(value, dict),
        }[kind]
        if not ok:
            self.fail((*keys, key), f"{value!r} is not {_KIND_WORDS[kind]}")
        if choices is not None and value not in choices:
            self.fail((*keys, key), f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value

    def scalars(self, table, keys, key, strings_only=False, may_be_empty=False):
        values = self.get(table, keys, key, "list")
        if values is None:
            return None
        if not values and not may_be_empty:
            self.fail((*keys, key), "is an empty list")
        if strings_only and key == "features" and any(not isinstance(v, str) or not v.strip() for v in values):
            self.fail((*keys, key), "a feature needs a name: one is empty")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)) or (strings_only and not isinstance(v, str)):
                self.fail((*keys, key), f"{v!r} is not {'text' if strings_only else 'a number or text'}")
        if len({type(v) is str for v in values}) > 1:
            self.fail((*keys, key), "mixes numbers and text; a column holds one or the other")
        return [float(v) if not isinstance(v, str) else v for v in values]

    def recipe(self) -> Recipe:
        doc = self.doc
        self.known(doc, (), self.KEYS)
        if "target" not in doc:
            self.fail(("target",), "no [target] table: which column is predicted?")
        target = self.target(self.get(doc, (), "target", "table"))
        inputs = []
        for column, spec in self.get(doc, (), "inputs", "table", {}).items():
            if not isinstance(spec, dict):
                self.fail(("inputs", column), "is not a table of the column's transform")
            made = self.transform(column, spec)
            inputs.extend(made if isinstance(made, list) else [made])  # a block is a list of transforms
        left_out = self.get(doc, (), "left_out", "table", {})
        for column, why in left_out.items():
            if not isinstance(why, str):
                self.fail(("left_out", column), "the reason is not text")
        name = self.get(doc, (), "name", "str", "data")
        if not _NAME.fullmatch(name):
            self.fail(("name",), f"{name!r} names the workbook file: use letters, digits, '_', '.' and '-'")
        if len(name) > MAX_NAME:
            self.fail(("name",), f"{len(name)} characters is too long for the workbook's file name: at most "
                                 f"{MAX_NAME}")
        recipe = Recipe(
            target=target,
            inputs=inputs,
            name=name,
            title=self.get(doc, (), "title", "str", ""),
            id=self.get(doc, (), "id", "str"),
            missing=self.get(doc, (), "missing", "str", "fill", MISSINGS),
            missing_values=tuple(dict.fromkeys(["", *self.scalars(doc, (), "missing_values", strings_only=True,
                                                                  may_be_empty=True)]))
            if "missing_values" in doc else MISSING_VALUES,
            ones=self.get(doc, (), "ones", "bool", True),
            show=self.scalars(doc, (), "show", strings_only=True) or [],
            left_out=dict(left_out),
            baselines=[self.rule(n, r) for n, r in self.get(doc, (), "baselines", "table", {}).items()],
            submission=self.get(doc, (), "submission", "str", None, _submission_names()),
            models=self.scalars(doc, (), "models", strings_only=True),
            models_reason=self.get(doc, (), "models_reason", "str", ""),
        )
        self.check(recipe)
        return recipe

    def target(self, spec: dict) -> Target:
        keys = ("target",)
        self.known(spec, keys, Target.fields_in_file)
        column = self.get(spec, keys, "column", "str")
        if not column:
            self.fail((*keys, "column"), "the target table needs column = \"...\"")
        kind = self.get(spec, keys, "kind", "str", "binary" if "positive" in spec else
                        ("classes" if "classes" in spec else "number"), KINDS)
        positive = self.get(spec, keys, "positive", "scalar")
        if kind == "binary" and positive is None:
            self.fail((*keys, "positive"), "a binary target needs positive = the class predicted as 1")
        if kind != "binary" and positive is not None:
            self.fail((*keys, "positive"), f"a {kind} target has no positive class (kind = \"binary\" for one)")
        positive = float(positive) if isinstance(positive, (int, float)) else positive
        values = self.scalars(spec, keys, "values")
        classes = self.target_classes(spec, keys, kind)
        log = self.get(spec, keys, "log", "bool", False)
        if log and kind != "number":
            self.fail((*keys, "log"), f"log = true is for a number target (its log is learned); a {kind} one has none")
        return Target(column, kind, positive, values, self.get(spec, keys, "reason", "str", ""), classes, log=log)

    def target_classes(self, spec: dict, keys: tuple, kind: str) -> list | None:
        """A K-class target's classes, in the order of the models' outputs: 2 to MAX_CLASSES, each once."""
        classes = self.scalars(spec, keys, "classes")
        if kind != "classes":
            if classes is not None:
                self.fail((*keys, "classes"), f"a {kind} target has no list of classes (kind = \"classes\" for one)")
            return None
        if classes is None:
            self.fail((*keys, "classes"), "a classes target needs classes = [...], one output each, in order")
        if len(set(classes)) < len(classes):
            twice = next(c for c in classes if classes.count(c) > 1)
            self.fail((*keys, "classes"), f"{twice!r} is listed twice; each class is one output")
        if not 2 <= len(classes) <= MAX_CLASSES:
            self.fail((*keys, "classes"), f"{len(classes):,} classes: a classes target has 2 to {MAX_CLASSES}")
        return classes

    def transform(self, column: str, spec: dict, keys: tuple | None = None):
        keys = keys or ("inputs", column)
        kind = spec.get("kind")
        if kind not in TRANSFORMS:
            self.fail((*keys, "kind"), f"kind {kind!r} is not a transform: use {' or '.join(TRANSFORMS)}")
        cls = TRANSFORMS[kind]
        allowed = ["kind"] + list(getattr(cls, "block_keys", None) or
                                  [f.name for f in fields(cls) if f.name != "column"])
        self.known(spec, keys, allowed)
        return cls.from_toml(column, _Keys(self, spec, keys))

    def rule(self, name: str, spec) -> Rule:
        keys = ("baselines", name)
        if not isinstance(spec, dict):
            self.fail(keys, "is not a table (title, and constant or feature and equals)")
        self.known(spec, keys, ("title", "constant", "feature", "equals"))
        constant = self.get(spec, keys, "constant", "scalar")
        if isinstance(constant, str) and constant not in ("majority", "mean"):
            self.fail((*keys, "constant"), f"{constant!r} is not a number, \"majority\" or \"mean\"")
        if isinstance(constant, (int, float)) and not abs(constant) <= MAX_MAGNITUDE:  # nan and inf too
            self.fail((*keys, "constant"), f"{constant!r} is past {MAGNITUDE_TEXT} in size; its squared "
                                           "error would overflow")
        feature = self.get(spec, keys, "feature", "str")
        equals = self.get(spec, keys, "equals", "number")
        if (constant is None) == (feature is None) or (feature is not None and equals is None):
            self.fail(keys, "a rule baseline has either constant = ..., or feature = ... with equals = ...")
        return Rule(name, self.get(spec, keys, "title", "str", name), constant, feature, equals)

    def check(self, recipe: Recipe) -> None:
        from .models import get as get_model

        for name in recipe.models or ():
            try:
                get_model(name)
            except ValueError as exc:
                self.fail(("models",), str(exc))
        seen = {}
        for where, column in ([(("target", "column"), recipe.target.column)]
                              + ([(("id",), recipe.id)] if recipe.id else [])
                              + [(("inputs", c), c) for c in recipe.columns]):
            if column in seen:
                self.fail(where, f"column {column} is used twice (also as {'.'.join(seen[column])})")
            seen[column] = where
        for column in recipe.left_out:
            if column in seen and column != recipe.id:  # the ID is no feature: left out, and used to name rows
                self.fail(("left_out", column), f"column {column} is left out and used (as {'.'.join(seen[column])})")
        for rule in recipe.baselines:  # a rule's feature is checked once the features are known (fit_recipe)
            keys = ("baselines", rule.name)
            if rule.constant == "majority" and recipe.target.kind == "number":
                self.fail((*keys, "constant"), "\"majority\" needs a binary or classes target; a number target's is "
                                               "\"mean\" (write constant = \"mean\" here)")
            if rule.constant == "mean" and recipe.target.kind == "binary":
                self.fail((*keys, "constant"), "\"mean\" is for a number target; a binary one's is \"majority\" "
                                               "(write constant = \"majority\" here)")
            if recipe.target.kind == "classes" and rule.constant != "majority":
                self.fail(keys, "a classes target's rule baseline is constant = \"majority\" (a rule of one "
                                "feature or a number predicts 0/1 or a number, not a class)")



def _submission_names() -> tuple[str, ...]:
    from .submissions import SUBMISSIONS

    return tuple(name for name in SUBMISSIONS if name)


_KIND_WORDS = {"str": "text", "bool": "true or false", "int": "a whole number", "number": "a finite number",
               "scalar": "a number or text", "list": "a list [...]", "table": "a table"}


# ----------------------------------------------------------------------------- writing


def dumps(recipe: Recipe, header: str = "") -> str:
    """The recipe as TOML: top-level settings, then [target], one [inputs.<column>] table per
    input in feature order, [left_out] and [baselines.<name>]; `header` goes first as comments."""
    out = [f"# {line}".rstrip() for line in header.splitlines()] + ([""] if header else [])
    top = {"name": recipe.name, "title": recipe.title, "id": recipe.id, "missing": recipe.missing,
           "ones": recipe.ones, "show": recipe.show or None, "submission": recipe.submission,
           "models": recipe.models or None, "models_reason": recipe.models_reason or None}
    if tuple(recipe.missing_values) != MISSING_VALUES:
        top["missing_values"] = list(recipe.missing_values)
    out += _pairs(top)
    t = recipe.target
    out += ["", "[target]"] + _pairs({"column": t.column, "kind": t.kind, "positive": t.positive,
                                      "classes": t.classes, "values": t.values, "log": t.log if t.kind == "number" else None,
                                      "reason": t.reason})
    written = set()
    for spec in recipe.inputs:
        if spec.block is not None:  # a block's transforms share one table
            if spec.block not in written:
                written.add(spec.block)
                specs = [s for s in recipe.inputs if s.block == spec.block]
                out += ["", f"[inputs.{_key_part(spec.block)}]"] + _pairs(type(spec).block_toml(specs))
            continue
        out += ["", f"[inputs.{_key_part(spec.column)}]"] + _pairs(_spec_values(spec))
        for keys, part in spec.toml_tables():  # nested tables: a date's parts
            name = ".".join(_key_part(k) for k in ("inputs", spec.column, *keys))
            out += ["", f"[{name}]"] + _pairs(_spec_values(part))
    if recipe.left_out:
        out += ["", "[left_out]"] + _pairs(recipe.left_out)
    for rule in recipe.baselines:
        out += ["", f"[baselines.{_key_part(rule.name)}]"] + _pairs(
            {"title": rule.title, "constant": rule.constant, "feature": rule.feature, "equals": rule.equals})
    return "\n".join(out) + "\n"


def _spec_values(spec) -> dict:
    """A transform's table: its kind, the keys that differ from the defaults (and the ones
    always shown), its reason last."""
    values = {"kind": spec.kind}
    defaults = type(spec)(spec.column)
    for f in fields(spec):
        if f.name in ("column", "reason"):
            continue
        value = getattr(spec, f.name)
        if value != getattr(defaults, f.name) or f.name in ("fill", "scale", "top", "format"):
            values[f.name] = value
    for key in spec.toml_unwritten():
        values.pop(key, None)
    values["reason"] = spec.reason
    return values


def _pairs(values: dict) -> list[str]:
    return [f"{_key_part(k)} = {_value(v)}" for k, v in values.items() if v is not None]


def _key_part(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} in a recipe")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate cannot be written in UTF-8
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# ----------------------------------------------------------------------------- locating keys

_KEY = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*""")


def _parse_key(text: str) -> tuple[tuple, str] | None:
    """A dotted TOML key at the start of `text`: (its parts, the rest)."""
    parts = []
    while True:
        m = _KEY.match(text)
        if not m:
            return None
        token = m.group(1)
        if token.startswith('"'):
            try:
                token = json.loads(token)
            except ValueError:
                token = token[1:-1]
        elif token.startswith("'"):
            token = token[1:-1]
        parts.append(token)
        text = text[m.end():]
        if not text.startswith("."):
            return tuple(parts), text
        text = text[1:]


def locate(text: str, keys: tuple) -> int | None:
    """The line (from 1) that sets `keys` (a table header or a key = value), or of the nearest
    enclosing table or key that is in the file."""
    keys = tuple(keys)
    best, best_len = None, 0
    table: tuple = ()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            parsed = _parse_key(stripped[1:])
            if parsed and parsed[1].lstrip().startswith("]"):
                table = parsed[0]
                path = table
            else:
                continue
        elif stripped and not stripped.startswith("#"):
            parsed = _parse_key(stripped)
            if not parsed or not parsed[1].startswith("="):
                continue
            path = table + parsed[0]
        else:
            continue
        n = len(path)
        if n <= len(keys) and keys[:n] == path and n > best_len:
            best, best_len = number, n
    return best
