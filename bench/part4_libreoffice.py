"""Part 4: the workbook in a real engine. LibreOffice (headless, a fresh profile that
forces a full recalculation on load, titanic_reg.sheets.recalc.recalculate) on an empty
workbook (its start-up, load and save), our workbook, ours without the Descent sheets (an
ablation) and the lesson's own workbook with every cached formula value removed; net times
are raw minus the empty one's. The target: ours at most 3x the lesson's, net.

Why: the workbook is meant to be opened and recalculated by a user; the lesson's own
workbook is the yardstick of what a spreadsheet of this lesson costs. The lesson's copy is
checked after recalculation against its original cached values, so that the time is of
a real computation of every cell.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from common import (
    REFERENCE_XLSX,
    TRAIN_CSV,
    Results,
    entry_point,
    fmt_s,
    fmt_x,
    interleaved,
    log,
    measure,
    median,
    summary,
    verdict,
)


_CELL = re.compile(r"<c\b([^>]*?)(?<!/)>(.*?)</c>", re.S)
_V = re.compile(r"<v>[^<]*</v>|<v/>")
_REF = re.compile(r'\br="([A-Z]+)(\d+)"')
_ARRAY = re.compile(r'<f\b[^>]*\bt="array"[^>]*\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def strip_cached_values(src: Path, dst: Path) -> dict:
    """Copy src to dst with the cached value of every formula cell (and every cell an
    array formula spills into) removed, so an engine must compute them."""
    stripped, formulas, refs = 0, 0, {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", item.filename):
                xml = data.decode("utf-8")
                arrays = [(_col(a), int(b), _col(c or a), int(d or b)) for a, b, c, d in _ARRAY.findall(xml)]
                cells = []

                def fix(m):
                    nonlocal stripped, formulas
                    attrs, inner = m.group(1), m.group(2)
                    r = _REF.search(attrs)
                    is_formula = "<f" in inner
                    in_array = False
                    if r and not is_formula and arrays:
                        c, row = _col(r.group(1)), int(r.group(2))
                        in_array = any(c0 <= c <= c1 and r0 <= row <= r1 for c0, r0, c1, r1 in arrays)
                    if not (is_formula or in_array):
                        return m.group(0)
                    formulas += 1
                    if r:
                        cells.append(r.group(1) + r.group(2))
                    new_inner, n = _V.subn("", inner)
                    if n:
                        stripped += 1
                    new_attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
                    return f"<c{new_attrs}>{new_inner}</c>" if new_inner else f"<c{new_attrs}/>"

                data = _CELL.sub(fix, xml).encode("utf-8")
                refs[item.filename] = cells
            zout.writestr(item, data)
    return {"formula_cells": formulas, "values_stripped": stripped, "cells": refs}


def count_formulas(path: Path) -> int:
    n = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                n += z.read(name).count(b"<f")
    return n


def _sheet_files(path: Path) -> dict[str, str]:
    """sheet name -> worksheet part of an xlsx."""
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)}
    targets.update({m.group(2): m.group(1) for m in re.finditer(r'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(r'<sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', wb):
        t = targets.get(m.group(2), "")
        out[m.group(1)] = "xl/" + t.lstrip("/").removeprefix("xl/")
    return out


def check_restored(original: Path, recalculated: Path, cells: dict) -> dict:
    """Compare the recalculated values of the stripped cells with the original cached ones."""
    from python_calamine import CalamineWorkbook

    a, b = CalamineWorkbook.from_path(str(original)), CalamineWorkbook.from_path(str(recalculated))
    parts = {v: k for k, v in _sheet_files(original).items()}
    total = match = 0
    worst = 0.0
    for part, refs in cells.items():
        name = parts.get(part)
        if name is None or not refs:
            continue
        ga = a.get_sheet_by_name(name).to_python(skip_empty_area=False)
        gb = b.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for ref in refs:
            m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
            c, r = _col(m.group(1)) - 1, int(m.group(2)) - 1
            va = ga[r][c] if r < len(ga) and c < len(ga[r]) else None
            vb = gb[r][c] if r < len(gb) and c < len(gb[r]) else None
            total += 1
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
                diff = abs(va - vb) / max(1.0, abs(va))
                worst = max(worst, diff)
                match += diff <= 1e-9
            else:
                match += va == vb
    return {"compared": total, "matching": match, "worst_rel_diff": worst}


def run(res: Results, reps: int, keep: dict) -> None:
    import xlsxwriter

    from titanic_reg.sheets.recalc import find_soffice, recalculate

    log("part 4: LibreOffice recalculation, ours vs the lesson's workbook")
    if not find_soffice():
        res.add(4, "LibreOffice recalculation", "skipped: LibreOffice not installed", "≤ 3× lesson's", "")
        return
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-lo-"))
    keep["lo_tmp"] = tmp
    exe = entry_point()
    ours = keep.get("our_workbook")
    if not ours or not Path(ours).exists():
        measure([exe, "fit", str(TRAIN_CSV), "--out", str(tmp / "ours")], timeout=120)
        ours = tmp / "ours" / "titanic.xlsx"
    # Ablation: the same run without the Descent sheets.
    measure([exe, "fit", str(TRAIN_CSV), "--out", str(tmp / "nodescent"), "--descent-steps", "0"], timeout=120)
    no_descent = tmp / "nodescent" / "titanic.xlsx"
    empty = tmp / "empty.xlsx"
    wb = xlsxwriter.Workbook(str(empty))
    wb.add_worksheet("Sheet1")
    wb.close()
    ref = tmp / "lesson-stripped.xlsx"  # a temp copy, never inside the project
    info = {}
    if REFERENCE_XLSX.exists():
        stripped = strip_cached_values(REFERENCE_XLSX, ref)
        cells = stripped.pop("cells")
        info["reference_strip"] = stripped
    else:
        ref = None
        info["reference_strip"] = f"not found: {REFERENCE_XLSX}"
    books = {"empty": empty, "ours": Path(ours)}
    if no_descent.exists():
        books["ours, no Descent sheets"] = no_descent
    if ref:
        books["lesson's (values stripped)"] = ref
    info["formula_cells"] = {k: count_formulas(p) for k, p in books.items()}
    info["bytes"] = {k: p.stat().st_size for k, p in books.items()}
    failures = {}

    def runner(name, path):
        def go():
            try:
                out = recalculate(path, timeout=300)
            except Exception as exc:  # noqa: BLE001 - reported
                failures[name] = str(exc)
                return
            if name.startswith("lesson") and "restored" not in info:
                info["restored"] = check_restored(REFERENCE_XLSX, out, cells)
            shutil.rmtree(out.parent, ignore_errors=True)
        return go

    runner("empty", empty)()  # warm-up: LibreOffice's first start reads its files from disk
    times = interleaved({k: runner(k, p) for k, p in books.items()}, rounds=reps, warmup=0)
    info["times"] = {k: summary(v) for k, v in times.items()}
    info["failures"] = failures
    base = median(times["empty"])
    net = {k: median(v) - base for k, v in times.items()}
    info["net_s"] = net
    res.parts["4"] = info
    for k in books:
        if k == "empty":
            res.add(4, "LibreOffice: empty workbook (start-up, load, save)", fmt_s(base), value=base, unit="s")
            continue
        extra = f", {info['formula_cells'][k]:,} formula cells"
        if k.startswith("lesson") and "restored" in info:
            rs = info["restored"]
            extra += f"; {rs['matching']}/{rs['compared']} values recomputed to 1e-9"
        res.add(4, f"LibreOffice: {k}", f"raw {fmt_s(median(times[k]))}, net {fmt_s(net[k])}{extra}",
                value=net[k], unit="s")
    if ref:
        key = "lesson's (values stripped)"
        ratio = net["ours"] / net[key] if net[key] > 0 else float("nan")
        raw_ratio = median(times["ours"]) / median(times[key])
        res.add(4, "LibreOffice: ours / lesson's (net of start-up)", f"{fmt_x(ratio)} (raw {fmt_x(raw_ratio)})",
                "≤ 3×", verdict(ratio <= 3), value=ratio)
        if "ours, no Descent sheets" in net:
            r2 = net["ours, no Descent sheets"] / net[key]
            res.add(4, "LibreOffice: ours without Descent sheets / lesson's (net)", fmt_x(r2),
                    value=r2, note="ablation: --descent-steps 0")
    if failures:
        res.add(4, "LibreOffice failures", "; ".join(f"{k}: {v[:120]}" for k, v in failures.items()))
