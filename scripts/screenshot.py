#!/usr/bin/env python
"""README pictures of the workbook, as LibreOffice renders it.

    python scripts/screenshot.py [WORKBOOK] [--out docs]

Without WORKBOOK the shipped data (data/train.csv) is fitted first and its
workbook written to a temporary directory.  For each sheet in SHOTS the script
writes docs/workbook-<sheet>.png: the top-left part of that sheet, with grid
lines and row/column headings, exactly as LibreOffice prints it (recalculated
formulas, number formats, fills, charts).

How: a copy of the .xlsx is edited at the XML level (never through openpyxl,
which would drop cached values and charts): the sheets not pictured are hidden,
each pictured sheet gets a print area, a one-page fit on A3 landscape (fit only
ever shrinks, so a small area prints at 100 %) and small margins.  Headless
LibreOffice, with a throw-away profile, turns the copy into a PDF, one page per
pictured sheet in workbook order; pdftoppm finds each page's ink and renders
just that box as PNG.  Needs LibreOffice and poppler-utils (pdftoppm,
pdfinfo); no Python packages beyond the project's own.  Leaves no temp files.
"""
from __future__ import annotations

import argparse
import contextlib
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from posixpath import dirname, join, normpath

ROOT = Path(__file__).resolve().parents[1]

# (sheet, print area).  A chart or picture anchored inside the area is shown
# whole: the area grows to its bottom-right corner.
SHOTS = (
    ("About", "A1:B70"),  # the whole sheet, to "How to check it"
    ("Data", "A1:U30"),
    ("Recipe", "A1:G34"),
    ("TwoReLU", "A1:N30"),
    ("Compare", "A1:I40"),
    ("DescentTwoReLU", "A1:N30"),
    ("Charts", "A1:P40"),
)

DPI = 110
MAX_BYTES = 250_000          # keep every PNG under this; the resolution drops until it fits
PAD = 6                      # white pixels kept around the ink
SOFFICE_TIMEOUT = 90         # seconds
PAGE_SETUP = ('<printOptions gridLines="1" headings="1"/>'
              '<pageMargins left="0.2" right="0.2" top="0.2" bottom="0.2" header="0" footer="0"/>'
              '<pageSetup paperSize="8" orientation="landscape" fitToWidth="1" fitToHeight="1"/>'
              '<headerFooter/>')

class ShotError(Exception):
    pass


# --- cell references --------------------------------------------------------------------------

def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _col_letters(index: int) -> str:
    s, n = "", index + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _parse_area(area: str) -> tuple[int, int, int, int]:
    """'A1:U30' -> (col0, row0, col1, row1), 0-based, inclusive."""
    m = re.fullmatch(r"\$?([A-Za-z]+)\$?(\d+):\$?([A-Za-z]+)\$?(\d+)", area)
    if not m:
        raise ShotError(f"bad print area {area!r}")
    return _col_index(m[1]), int(m[2]) - 1, _col_index(m[3]), int(m[4]) - 1


def _area_ref(sheet: str, box: tuple[int, int, int, int]) -> str:
    c0, r0, c1, r1 = box
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!${_col_letters(c0)}${r0 + 1}:${_col_letters(c1)}${r1 + 1}"


# --- the xlsx copy ----------------------------------------------------------------------------

def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> target part name (zip path) for one part."""
    rels_name = join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")
    if rels_name not in z.namelist():
        return {}
    out = {}
    for m in re.finditer(r"<Relationship\b[^>]*>", z.read(rels_name).decode("utf-8")):
        tag = m[0]
        rid = re.search(r'\bId="([^"]*)"', tag)
        target = re.search(r'\bTarget="([^"]*)"', tag)
        if rid and target and 'TargetMode="External"' not in tag:
            t = html.unescape(target[1])
            out[rid[1]] = t.lstrip("/") if t.startswith("/") else normpath(join(dirname(part), t))
    return out


def _sheet_parts(z: zipfile.ZipFile, workbook_xml: str) -> list[tuple[str, str, str]]:
    """[(name, zip part, the <sheet .../> tag)] in workbook order."""
    rels = _rels(z, "xl/workbook.xml")
    out = []
    for m in re.finditer(r"<sheet\b[^>]*/>", workbook_xml):
        tag = m[0]
        name = html.unescape(re.search(r'\bname="([^"]*)"', tag)[1])
        rid = re.search(r'\br:id="([^"]*)"', tag)
        out.append((name, rels.get(rid[1], "") if rid else "", tag))
    return out


def _grow_to_drawings(z: zipfile.ZipFile, part: str, sheet_xml: str,
                      box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Grow box so every drawing object anchored inside it is printed whole."""
    c0, r0, c1, r1 = box
    m = re.search(r'<drawing\b[^>]*\br:id="([^"]*)"', sheet_xml)
    drawing = _rels(z, part).get(m[1]) if m else None
    if not drawing or drawing not in z.namelist():
        return box
    xml = z.read(drawing).decode("utf-8")
    pos = r"<xdr:col>(\d+)</xdr:col><xdr:colOff>(-?\d+)</xdr:colOff><xdr:row>(\d+)</xdr:row><xdr:rowOff>(-?\d+)"
    for anchor in re.finditer(r"<xdr:twoCellAnchor\b.*?</xdr:twoCellAnchor>", xml, re.S):
        start = re.search(r"<xdr:from>" + pos, anchor[0])
        end = re.search(r"<xdr:to>" + pos, anchor[0])
        if not (start and end):
            continue
        fc, fr = int(start[1]), int(start[3])
        if not (c0 <= fc <= c1 and r0 <= fr <= r1):
            continue
        # The 'to' cell is only covered if the object reaches into it.
        tc = int(end[1]) - (int(end[2]) <= 0)
        tr = int(end[3]) - (int(end[4]) <= 0)
        c1, r1 = max(c1, tc), max(r1, tr)
    return c0, r0, c1, r1


def _print_setup(sheet_xml: str, selected: bool) -> str:
    """One sheet's XML with our page setup (fit to one A3 page, grid, headings)."""
    x = sheet_xml
    # Drop whatever print setup the sheet has; ours goes in its place.
    x = re.sub(r"<(printOptions|pageMargins|pageSetup|headerFooter|rowBreaks|colBreaks)\b[^>]*/>", "", x)
    x = re.sub(r"<(headerFooter|rowBreaks|colBreaks)\b[^>]*>.*?</\1>", "", x, flags=re.S)
    later = re.search(r"<(customProperties|cellWatches|ignoredErrors|smartTags|drawing|legacyDrawing|"
                      r"legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|"
                      r"extLst)\b|</worksheet>", x)
    x = x[:later.start()] + PAGE_SETUP + x[later.start():]
    # <sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>: sheetPr is the first child, pageSetUpPr its last.
    fit = '<pageSetUpPr fitToPage="1"/>'
    m = re.search(r"<sheetPr\b[^>]*?(/?)>", x)
    if not m:
        root = re.search(r"<worksheet\b[^>]*>", x)
        x = x[:root.end()] + f"<sheetPr>{fit}</sheetPr>" + x[root.end():]
    elif m[1]:
        x = x[:m.start()] + m[0][:-2].rstrip() + f">{fit}</sheetPr>" + x[m.end():]
    else:
        close = x.index("</sheetPr>", m.end())
        inner = re.sub(r"<pageSetUpPr\b[^>]*/>", "", x[m.end():close])
        x = x[:m.end()] + inner + fit + x[close:]
    x = re.sub(r'\s+tabSelected="[^"]*"', "", x)
    if selected:
        x = re.sub(r"<sheetView\b", '<sheetView tabSelected="1"', x, count=1)
    return x


def stage(src: Path, dst: Path, shots) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Write dst: src with only the shot sheets visible, each with its print area and page setup.

    Returns [(sheet, print box)] in workbook order, i.e. the order of the PDF's pages.
    """
    wanted = {name: _parse_area(area) for name, area in shots}
    with zipfile.ZipFile(src) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
        sheets = _sheet_parts(z, wb)
        names = [name for name, _, _ in sheets]
        missing = [n for n in wanted if n not in names]
        if missing:
            raise ShotError(f"{src.name} has no sheet {', '.join(missing)} (it has {', '.join(names)})")
        changed, pages, defined = {}, [], []
        for index, (name, part, tag) in enumerate(sheets):
            new = re.sub(r'\s+state="[^"]*"', "", tag)
            if name not in wanted:
                new = new[:-2].rstrip() + ' state="hidden"/>'
            wb = wb.replace(tag, new, 1)
            if name in wanted:
                xml = z.read(part).decode("utf-8")
                box = _grow_to_drawings(z, part, xml, wanted[name])
                changed[part] = _print_setup(xml, selected=not pages)
                pages.append((name, box))
                defined.append(f'<definedName name="_xlnm.Print_Area" localSheetId="{index}">'
                               f"{html.escape(_area_ref(name, box), quote=False)}</definedName>")
            else:
                xml = z.read(part).decode("utf-8")
                changed[part] = re.sub(r'\s+tabSelected="[^"]*"', "", xml)
        # Our print areas replace any the workbook has; print titles would repeat rows.
        wb = re.sub(r'<definedName name="_xlnm\.(Print_Area|Print_Titles)"[^>]*>[^<]*</definedName>', "", wb)
        if "<definedNames>" in wb:
            wb = wb.replace("<definedNames>", "<definedNames>" + "".join(defined), 1)
        elif "<definedNames/>" in wb:
            wb = wb.replace("<definedNames/>", "<definedNames>" + "".join(defined) + "</definedNames>", 1)
        else:
            wb = wb.replace("</sheets>", "</sheets><definedNames>" + "".join(defined) + "</definedNames>", 1)
        # The first pictured sheet is the active one (a hidden active sheet confuses LibreOffice).
        active = names.index(pages[0][0])
        view = re.search(r"<workbookView\b[^>]*?/?>", wb)
        if view:
            tag = re.sub(r'\s+(activeTab|firstSheet)="[^"]*"', "", view[0])
            tag = re.sub(r"<workbookView\b", f'<workbookView activeTab="{active}" firstSheet="{active}"', tag)
            wb = wb[:view.start()] + tag + wb[view.end():]
        changed["xl/workbook.xml"] = wb
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                data = changed[info.filename].encode("utf-8") if info.filename in changed else z.read(info)
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return pages


# --- LibreOffice and poppler --------------------------------------------------------------------

def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def font_note() -> str | None:
    """A warning when Calibri (the workbook's font) would be drawn in a font of other widths."""
    fc = shutil.which("fc-match")
    if not fc:
        return None
    with contextlib.suppress(Exception):
        got = subprocess.run([fc, "-f", "%{family}", "Calibri"], capture_output=True, timeout=10,
                             text=True).stdout.strip()
        if got and not re.search(r"calibri|carlito", got, re.I):
            return (f"Calibri is drawn as {got!r}, which is wider: columns may show ### or clip where "
                    "Excel would not; install Carlito (fonts-crosextra-carlito) for Calibri's metrics")
    return None


def to_pdf(xlsx: Path, work: Path, timeout: float) -> Path:
    """LibreOffice's rendering, with the same throw-away profile and safety as verify."""
    from titanic_reg.sheets.recalc import RecalcError, convert

    try:
        pdf = convert(xlsx, "pdf:calc_pdf_Export", ".pdf", timeout=timeout)
    except RecalcError as exc:
        raise ShotError(str(exc)) from None
    moved = work / pdf.name
    shutil.move(str(pdf), moved)
    shutil.rmtree(pdf.parent, ignore_errors=True)
    return moved


def _poppler(tool: str, *args: str) -> bytes:
    exe = shutil.which(tool)
    if not exe:
        raise ShotError(f"{tool} not found; install poppler-utils")
    done = _run([exe, *args], 60)
    if done.returncode != 0:
        raise ShotError(f"{tool} failed: {done.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    return done.stdout


def page_count(pdf: Path) -> int:
    m = re.search(rb"^Pages:\s+(\d+)", _poppler("pdfinfo", str(pdf)), re.M)
    return int(m[1]) if m else 0


def ink_box(pdf: Path, page: int, dpi: int, work: Path) -> tuple[int, int, int, int]:
    """(x, y, w, h) in pixels at dpi of everything on the page that is not white."""
    prefix = work / "ink"
    _poppler("pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
             str(pdf), str(prefix))
    pgm = prefix.with_suffix(".pgm")
    data = pgm.read_bytes()
    pgm.unlink()
    fields, pos = [], 2                          # P5 <w> <h> <max>, then one byte per pixel
    if data[:2] != b"P5":
        raise ShotError("pdftoppm wrote no PGM")
    while len(fields) < 3:
        m = re.compile(rb"\s*(#[^\n]*\n\s*)*(\d+)").match(data, pos)
        fields.append(int(m[2]))
        pos = m.end()
    width, height, pixels = fields[0], fields[1], data[pos + 1:]
    ink = pixels.translate(bytes(1 if v < 235 else 0 for v in range(256)))
    top = bottom = None
    left, right = width, -1
    for y in range(height):
        row = ink[y * width:(y + 1) * width]
        first = row.find(1)
        if first < 0:
            continue
        top = y if top is None else top
        bottom = y
        left = min(left, first)
        right = max(right, row.rfind(1))
    if top is None:
        raise ShotError(f"page {page} of the PDF is blank")
    x0, y0 = max(0, left - PAD), max(0, top - PAD)
    x1, y1 = min(width, right + 1 + PAD), min(height, bottom + 1 + PAD)
    return x0, y0, x1 - x0, y1 - y0


def render(pdf: Path, page: int, dst: Path, work: Path) -> tuple[int, int, int]:
    """Write page as a PNG cropped to its ink, at DPI or less to stay under MAX_BYTES."""
    dpi = DPI
    while True:
        x, y, w, h = ink_box(pdf, page, dpi, work)
        prefix = work / "shot"
        _poppler("pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                 "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(pdf), str(prefix))
        png = prefix.with_suffix(".png")
        if png.stat().st_size <= MAX_BYTES or dpi <= 60:
            shutil.move(str(png), dst)
            return w, h, dpi
        dpi = int(dpi * 0.9)


# --- main ---------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workbook", nargs="?", type=Path,
                    help="an .xlsx written by titanic-reg (default: fit data/train.csv and write one)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go (default: docs/)")
    ap.add_argument("--sheet", action="append", metavar="NAME=AREA", default=None,
                    help="picture this sheet's area instead of the default set (repeatable), "
                         "e.g. --sheet MLP8=A1:V30")
    ap.add_argument("--timeout", type=float, default=SOFFICE_TIMEOUT, help="seconds LibreOffice may take")
    args = ap.parse_args(argv)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="titanic-reg-shots-") as tmp:
            work = Path(tmp)
            if args.workbook is None:
                sys.path.insert(0, str(ROOT))
                import titanic_reg
                from titanic_reg.sheets.workbook import write_workbook
                print("fitting data/train.csv ...", file=sys.stderr)
                result = titanic_reg.fit(str(ROOT / "data" / "train.csv"))
                src = write_workbook(result, work / "titanic.xlsx")
            else:
                src = args.workbook
                if not src.is_file():
                    raise ShotError(f"{src}: no such file")
            staged = work / "shots.xlsx"
            try:
                shots = tuple(tuple(x.split("=", 1)) for x in args.sheet) if args.sheet else SHOTS
                pages = stage(src, staged, shots)
            except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as exc:
                raise ShotError(f"{src}: not an .xlsx workbook ({exc})") from None
            print("rendering with LibreOffice ...", file=sys.stderr)
            note = font_note()
            if note:
                print(f"screenshot: warning: {note}", file=sys.stderr)
            pdf = to_pdf(staged, work, args.timeout)
            n = page_count(pdf)
            if n != len(pages):
                raise ShotError(f"expected {len(pages)} pages (one per sheet), LibreOffice printed {n}")
            args.out.mkdir(parents=True, exist_ok=True)
            for page, (name, box) in enumerate(pages, start=1):
                dst = args.out / f"workbook-{name.lower()}.png"
                w, h, dpi = render(pdf, page, dst, work)
                print(f"{dst}  {_area_ref(name, box)}  {w}x{h} px at {dpi} dpi, "
                      f"{dst.stat().st_size // 1024} KB")
    except ShotError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
