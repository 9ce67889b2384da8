#!/usr/bin/env python
"""Record every number and formula a battery of runs produces, and compare two records.

For a change that must not change what the product computes (a restructuring):

    python scripts/snapshot.py record before.json            # on the old tree
    python scripts/snapshot.py record after.json             # on the new one
    python scripts/snapshot.py compare before.json after.json

Each run is the command line (`python cli.py ...` from the tree given by --tree, the
working folder by default). A record holds, per run: metrics.json without its timings,
the predictions, recipe.toml, and for the workbook every cell's formula (or value) and
cached value, every defined name, and a hash of every other part (charts, styles).
`compare` prints each difference and exits 1 if there is any.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

TIMINGS = {"fit_seconds", "fit_ms", "predict_seconds", "predict_ms_per_1000"}

RUNS = {
    "titanic": ["fit", "data/train.csv"],
    "titanic_fill_models": ["fit", "data/train.csv", "--missing", "fill", "--models",
                            "linear,two_relu,logistic,relus:3,mlp:4,mlp:3-2:sigmoid", "--descent-steps", "7"],
    "titanic_lesson": ["fit", "data/train.csv", "--missing", "drop", "--valid-pct", "0", "--test", ""],
    "titanic_sample": ["fit", "data/train.csv", "--sheet-rows", "100", "--submit-model", "sklearn_gbm"],
    "titanic_sgd": ["fit", "data/train.csv", "--optimizer", "sgd", "--lr", "0.05", "--epochs", "200",
                    "--restarts", "3", "--descent-steps", "0"],
    "penguins_sex": ["fit", "data/penguins.csv", "--target", "sex"],
    "penguins_species": ["fit", "data/penguins.csv", "--target", "species", "--positive", "Adelie",
                         "--models", "linear,mlp:3", "--test", "{penguins_test}"],
    "penguins_mass": ["fit", "data/penguins.csv", "--target", "body_mass_g", "--models", "linear,two_relu,mlp:4",
                      "--test", "{penguins_test}"],
    "lesson_quad": ["lesson", "quad", "--lr", "0.1"],
    "lesson_quad_no_zero": ["lesson", "quad", "--lr", "0.01", "--max-steps", "20", "--no-zero-grad"],
}


def penguins_test(folder: Path, tree: Path) -> Path:
    """Every fifth penguin without its target columns: a test file that is not Kaggle's."""
    lines = (tree / "data" / "penguins.csv").read_text(encoding="utf-8").splitlines()
    path = folder / "penguins_test.csv"
    path.write_text("\n".join([lines[0]] + lines[1::5]) + "\n", encoding="utf-8")
    return path


def strip_timings(value):
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def workbook_record(path: Path) -> dict:
    import openpyxl

    record = {"cells": {}, "cached": {}, "names": {}, "parts": {}}
    formulas = openpyxl.load_workbook(path, data_only=False)
    cached = openpyxl.load_workbook(path, data_only=True)
    for ws in formulas.worksheets:
        values = cached[ws.title]
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                key = f"{ws.title}!{cell.coordinate}"
                value = cell.value
                text = getattr(value, "text", None)  # an array formula
                record["cells"][key] = ("{" + text + "}") if text is not None else value
                record["cached"][key] = values[cell.coordinate].value
    for name, defined in formulas.defined_names.items():
        record["names"][name] = defined.attr_text
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.startswith("xl/worksheets/sheet"):
                record["parts"][info.filename] = hashlib.sha256(z.read(info)).hexdigest()
    record["sheets"] = formulas.sheetnames
    return json.loads(json.dumps(record, default=str))


def record(out: Path, tree: Path, command: list[str], only=None) -> None:
    result = {}
    # One fixed folder: its paths are written into metrics.json and the About sheet.
    tmp = Path(tempfile.gettempdir()) / "titanic-reg-snapshot"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        test = penguins_test(tmp, tree)
        for name, args in RUNS.items():
            if only and name not in only:
                continue
            folder = tmp / name
            args = [a.replace("{penguins_test}", str(test)) for a in args]
            full = [*command, *args, "--out", str(folder)]
            done = subprocess.run(full, cwd=tree, capture_output=True, text=True,
                                  env={**os.environ, "COLUMNS": "100"})
            entry = {"exit": done.returncode, "stderr": done.stderr.splitlines()}
            print(f"{name}: exit {done.returncode}", file=sys.stderr)
            for file in sorted(folder.glob("*")) if folder.is_dir() else []:
                if file.name == "metrics.json":
                    entry["metrics"] = strip_timings(json.loads(file.read_text()))
                elif file.suffix in (".csv", ".toml"):
                    entry[file.name] = file.read_text()
                elif file.suffix == ".xlsx":
                    entry[file.name] = workbook_record(file)
                elif file.suffix == ".png":
                    entry[file.name] = "png"  # drawn by matplotlib: its bytes are not ours to pin
            result[name] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.write_text(json.dumps(result, indent=1, sort_keys=True))


def differences(a, b, where="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                found.append(f"{where}/{k}: only after")
            elif k not in b:
                found.append(f"{where}/{k}: only before")
            else:
                found += differences(a[k], b[k], f"{where}/{k}")
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = []
        for i, (x, y) in enumerate(zip(a, b)):
            found += differences(x, y, f"{where}[{i}]")
        return found
    if a == b:
        return []
    close = _float(a) is not None and _float(b) is not None and math.isclose(_float(a), _float(b), rel_tol=1e-13)
    return [f"{'~ ' if close else ''}{where}: {str(a)[:200]!r} -> {str(b)[:200]!r}"]


def _float(value):
    """A number, or a number written as text (openpyxl reads some values as text)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--tree", type=Path, default=Path.cwd())
    rec.add_argument("--command", default=f"{sys.executable} cli.py",
                     help="how to run the command line, in the tree (default: this Python on cli.py)")
    rec.add_argument("--only", nargs="*")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--ignore", nargs="*", default=[], help="paths (substrings) whose differences are expected")
    args = parser.parse_args(argv)
    if args.what == "record":
        record(args.out, args.tree.resolve(), args.command.split(), args.only)
        return 0
    found = differences(json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    found = [d for d in found if not any(i in d for i in args.ignore)]
    rounding = [d for d in found if d.startswith("~ ")]
    real = [d for d in found if not d.startswith("~ ")]
    for line in real[:400]:
        print(line)
    print(f"{len(real)} difference(s); {len(rounding)} more within 1e-13 relative (rounding)"
          + (f", e.g. {rounding[0][2:]}" if rounding else ""))
    return 1 if real else 0


if __name__ == "__main__":
    sys.exit(main())
