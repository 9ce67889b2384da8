"""Check a workbook's cached formula values against a LibreOffice recalculation.

    report = verify("titanic.xlsx")
    print(report.summary())
    if not report.ok: ...

Steps:

1. The file is treated as untrusted: before anything else it must be a zip
   archive of at most 200 MB whose members add up to at most 2 GB uncompressed,
   none compressed more than 200:1 (zip bombs), none encrypted.  Its XML is
   read with defusedxml and a DTD is refused outright (no entity expansion,
   "billion laughs", no external entities).  Macros (xl/vbaProject.bin, macro
   sheets, ActiveX) never run: LibreOffice starts with macro execution disabled
   (sheets.recalc), and the summary notes that the file holds them.
2. Every formula cell of the original workbook is read with its cached value:
   cells with an ``<f>`` element, and every cell covered by an array formula's
   range (only the range's top-left cell carries the formula; the other cells
   carry just cached values).  The sheet XML is streamed with defusedxml in a
   single pass (openpyxl would need two full loads, formulas and values).
3. LibreOffice recalculates every formula from scratch (sheets.recalc) and the
   recalculated file is read the same way.  python-calamine is NOT used for
   this: its to_python() returns error cells (#DIV/0!, #NAME?, ...) as "" and
   date-formatted numbers as datetime objects, so errors would go unnoticed and
   serial numbers lose precision.
4. Cell by cell: numbers (booleans count as 0/1) by
   ``|cached - recalculated| / max(1, |recalculated|)``; text must be equal
   (else the difference is inf); a missing cached or recalculated value is inf.
   Cells holding an error value (#VALUE!, #NAME?, #DIV/0!, #REF!, #N/A, #NUM!,
   #NULL!, Err:5xx, ...) on either side are listed in ``errors``.
"""

from __future__ import annotations

import heapq
import math
import os
import posixpath
import re
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from titanic_reg.limits import VERIFY_TIMEOUT

from .recalc import ENGINE_TITLES, RecalcTimeout, recalculate

__all__ = ["VerifyError", "Report", "verify", "read_formula_cells", "check_archive"]

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 10_000
MAX_FORMULA_CELLS = 5_000_000  # array ranges included; guards absurd ref="A1:XFD1048576"
# One formula's reach: an array formula's cells, and the largest range it names. A 1.6 KB file
# whose array formula covered A1:D1000000 took 2.4 GB and minutes. A whole column (A:A) is
# common and allowed; four of them at once are not.
MAX_ARRAY_CELLS = 100_000
MAX_RANGE_CELLS = 2 * 1_048_576
MAX_ROW, MAX_COL = 1_048_576, 16_384
MAX_SMALL_PART = 16 * 1024 * 1024  # the workbook, relationships, properties: read whole
MAX_ITEM_ELEMENTS = 16 * MAX_COL  # a row's cells and what they hold; a shared string's runs
N_WORST = 5
MAX_TIMEOUT = 86_400.0  # a day: longer is a mistake (1e300 overflowed the clock), not a workbook

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

_ERROR_RE = re.compile(
    r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!"
    r"|BLOCKED!|CONNECT!|BUSY!|UNKNOWN!|EXTERNAL!)|Err:\d{3}"
)


class VerifyError(Exception):
    """The workbook cannot be verified (refused as unsafe, or not an xlsx)."""


class ErrorValue(str):
    """A spreadsheet error value such as '#DIV/0!' (a str, so text compares work)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ErrorValue({str.__repr__(self)})"


@dataclass
class Report:
    """Outcome of :func:`verify`.

    worst: up to N_WORST (sheet, cell, cached, recalculated, diff), largest diff first.
    errors: every (sheet, cell, value) formula cell holding an error value.
    """

    cells_checked: int
    max_diff: float
    worst: list[tuple[str, str, object, object, float]]
    errors: list[tuple[str, str, object]]
    ok: bool
    tol: float = 1e-9
    engine: str = "LibreOffice"
    n_over_tol: int = 0
    sheets: int = 0
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said in the summary; not failures
    # The engine's value of every formula cell: {sheet: {(row, col) zero-based: value}}
    recalculated: dict = field(default_factory=dict, repr=False)

    def value(self, sheet: str, cell: str):
        """The engine's recalculated value of one formula cell, by A1 reference."""
        return self.recalculated[sheet][_parse_ref(cell)]

    def summary(self) -> str:
        lines = []
        where = f"{self.worst[0][0]}!{self.worst[0][1]}" if self.worst else "-"
        lines.append(
            f"checked {self.cells_checked:,} formula cells on {self.sheets} sheet"
            f"{'' if self.sheets == 1 else 's'} in {self.engine}; largest difference "
            f"{_fmt_diff(self.max_diff)}" + (f" at {_q(where)}" if self.worst else "")
        )
        if self.n_over_tol:
            lines.append(
                f"{self.n_over_tol:,} cell{' differs' if self.n_over_tol == 1 else 's differ'} by more "
                f"than {self.tol:g}; worst:"
            )
            for sheet, cell, cached, recalc, diff in self.worst:
                if diff > self.tol:
                    lines.append(
                        f"  {_q(sheet + '!' + cell)}: cached {_fmt_val(cached)}, "
                        f"recalculated {_fmt_val(recalc)} (diff {_fmt_diff(diff)})"
                    )
        if self.errors:
            shown = ", ".join(f"{_q(s + '!' + c)} {v}" for s, c, v in self.errors[:5])
            more = f" and {len(self.errors) - 5:,} more" if len(self.errors) > 5 else ""
            lines.append(
                f"{len(self.errors):,} formula cell{'' if len(self.errors) == 1 else 's'} "
                f"hold errors: {shown}{more}"
            )
        lines.extend(self.details)
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append("OK: every cached value matches the recalculation" if self.ok
                     else "FAILED: the workbook's cached values do not match its formulas")
        return "\n".join(lines)


def _q(ref: str) -> str:
    sheet, _, cell = ref.rpartition("!")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet):
        return ref
    return "'" + sheet.replace("'", "''") + "'!" + cell


def _fmt_diff(d: float) -> str:
    return "inf" if math.isinf(d) else f"{d:.2g}"


def _fmt_val(v: object) -> str:
    if v is None:
        return "(missing)"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, ErrorValue):
        return str(v)
    return repr(v)


# --------------------------------------------------------------------------- archive


def _size(n: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            value = n / scale
            return f"{value:,.0f} {unit}" if value == int(value) or value >= 100 else f"{value:,.1f} {unit}"
    return f"{n:,} bytes"


def _private_copy(path: Path) -> Path:
    """A folder of our own holding one copy of `path`, read once through one open file: a
    file swapped for another after it was checked never reaches LibreOffice. Refused
    (VerifyError) unless it is a regular file within MAX_FILE_BYTES."""
    try:  # non-blocking: opening a pipe with no writer would wait for ever
        src = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
    except OSError as exc:
        if Path(path).is_dir():
            raise VerifyError(f"{path}: is a folder, not a workbook") from None
        raise VerifyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    folder = Path(tempfile.mkdtemp(prefix="titanic-reg-verify-"))
    try:
        with src:
            st = os.fstat(src.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise VerifyError(f"{path}: not a regular file")
            if st.st_size > MAX_FILE_BYTES:
                raise VerifyError(f"{path}: refused, {_size(st.st_size)} is larger than the "
                                  f"{_size(MAX_FILE_BYTES)} limit")
            with open(folder / Path(path).name, "wb") as dst:
                copied = 0
                while chunk := src.read(1 << 20):
                    copied += len(chunk)
                    if copied > MAX_FILE_BYTES:
                        raise VerifyError(f"{path}: refused, it grew larger than the {_size(MAX_FILE_BYTES)} "
                                          "limit while read")
                    dst.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def check_archive(path: str | os.PathLike) -> None:
    """Refuse (VerifyError) anything but a plausible, bounded-size xlsx zip."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise VerifyError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise VerifyError(f"{p}: not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise VerifyError(f"{p}: refused, {_size(st.st_size)} is larger than the {_size(MAX_FILE_BYTES)} limit")
    if not zipfile.is_zipfile(p):
        raise VerifyError(f"{p}: not an .xlsx workbook (not a zip archive)")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise VerifyError(f"{p}: not an .xlsx workbook (broken zip: {exc})") from None
    if len(infos) > MAX_MEMBERS:
        raise VerifyError(f"{p}: refused, {len(infos):,} zip members (limit {MAX_MEMBERS:,})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise VerifyError(f"{p}: refused, zip member {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise VerifyError(f"{p}: not an .xlsx workbook (zip member {info.filename} uses compression method "
                              f"{info.compress_type}; an .xlsx stores or deflates)")
        total += info.file_size
        if info.file_size and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise VerifyError(
                f"{p}: refused as a possible zip bomb, member {info.filename} "
                f"expands {ratio:,.0f}:1 (limit {MAX_RATIO}:1)"
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise VerifyError(
            f"{p}: refused as a possible zip bomb, members expand to "
            f"{_size(total)} (limit {_size(MAX_UNCOMPRESSED_BYTES)})"
        )
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise VerifyError(f"{p}: not an .xlsx workbook (no [Content_Types].xml)")


# --------------------------------------------------------------------------- XML reading


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _past(deadline: float | None, member: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise VerifyError(f"reading {member} took longer than the time allowed (--timeout)")


def _events(zf: zipfile.ZipFile, member: str, events=("end",), deadline: float | None = None) -> Iterator:
    """iterparse events of one member, with defusedxml's protections.

    A DTD (and so any entity: "billion laughs", external entities) is refused
    with a VerifyError naming the part; no part of an .xlsx file needs one.
    Every part is read against `deadline`: many large parts (relationships,
    say) each under its own limit still add up to minutes.
    """
    _past(deadline, member)
    with zf.open(member) as fh:
        try:
            for n, item in enumerate(iterparse(fh, events=events, forbid_dtd=True)):
                if not n % 16_384:
                    _past(deadline, member)
                yield item
        except DefusedXmlException as exc:
            raise VerifyError(
                f"not a readable .xlsx workbook (refused: {member} declares a DTD or XML entities, "
                f"which no workbook part needs and which entity-expansion attacks such as 'billion "
                f"laughs' rely on; {type(exc).__name__})"
            ) from None


def _parse_small(zf: zipfile.ZipFile, member: str, deadline: float | None = None):
    """A part read whole (the workbook, its relationships, app properties): refused past
    MAX_SMALL_PART, so that no part read this way can fill memory."""
    size = zf.getinfo(member).file_size
    if size > MAX_SMALL_PART:
        raise VerifyError(f"not a readable .xlsx workbook (refused: {member} unpacks to {_size(size)}, past the "
                          f"{_size(MAX_SMALL_PART)} such a part may hold)")
    root = None
    for _event, elem in _events(zf, member, deadline=deadline):
        root = elem
    return root


def _stream(zf: zipfile.ZipFile, member: str, item: str | tuple[str, ...],
            deadline: float | None = None) -> Iterator:
    """The `item` elements of a large part (a sheet's rows, the shared strings), each whole,
    in a memory bounded whatever the XML holds: every other element is dropped as soon as
    it ends, and an item is dropped once the caller has read it. An item of more than
    MAX_ITEM_ELEMENTS elements (a row holds at most 16,384 cells) is refused, and the
    reading stops at `deadline` (time.monotonic()) with a VerifyError. `item` may name
    several elements (none inside another)."""
    items = (item,) if isinstance(item, str) else item
    parents: list = []
    open_items = 0
    inner = 0  # elements inside the item being read
    current = items[0]
    for event, elem in _events(zf, member, ("start", "end"), deadline):
        if event == "start":
            parents.append(elem)
            if _local(elem.tag) in items:
                open_items += 1
                current = _local(elem.tag)
            continue
        parents.pop()
        if _local(elem.tag) in items:
            open_items -= 1
            inner = 0
            yield elem
        elif open_items:
            inner += 1
            if inner > MAX_ITEM_ELEMENTS:
                raise VerifyError(f"not a readable .xlsx workbook (refused: a <{current}> of {member} holds "
                                  f"more than {MAX_ITEM_ELEMENTS:,} elements)")
            continue  # part of an item: read with it
        elem.clear()
        if parents:
            parents[-1].remove(elem)  # the last child: each is dropped as it ends


# Parts that exist to fetch from outside the file (data connections, web queries, links to
# other workbooks) or that hold formulas no engine here checks (Excel 4 macro sheets). Known
# by their content type ([Content_Types].xml) and by the type of the relationship that leads
# to them, never by their name alone: a part can be called anything.
_REACHING_PARTS = re.compile(r"(?i)^xl/(?:connections\.xml$|queryTables/|externalLinks/)")
_REFUSED_KINDS = {  # the last word of a content type or relationship type, lower case: what it is
    "connections": "a connection to data outside the file",
    "querytable": "a web or database query",
    "externallink": "a link to another workbook",
    "externallinkpath": "a link to another workbook",
    "xlexternallinkpath": "a link to another workbook",
    "xlmacrosheet": "an Excel 4 macro sheet",
    "xlintlmacrosheet": "an Excel 4 macro sheet",
    "macrosheet": "an Excel 4 macro sheet",
    "intlmacrosheet": "an Excel 4 macro sheet",
    "dialogsheet": "a dialog sheet",
}
# Functions that fetch or call out when recalculated.
REACHING_FUNCTIONS = frozenset({"WEBSERVICE", "RTD", "DDE", "CALL", "REGISTER", "REGISTER.ID", "IMPORTXML",
                                "IMPORTDATA", "IMPORTHTML", "IMPORTRANGE", "IMPORTFEED"})
# Functions that read the machine: its environment (Gnumeric's GETENV), the file's path and the
# system (CELL, INFO), a named pipe (Gnumeric's ATL_LAST), Excel 4's workspace and file functions.
MACHINE_FUNCTIONS = frozenset({"GETENV", "CELL", "INFO", "ATL_LAST", "GET.LINK", "GET.CELL", "GET.WORKSPACE",
                               "GET.DOCUMENT", "GET.WORKBOOK", "FILES", "DIRECTORY", "EXEC", "EXECUTE", "RUN",
                               "FOPEN", "FREAD", "FREADLN", "FWRITE", "FWRITELN", "EVALUATE"})

_CALL = re.compile(r"([A-Za-z_\\][A-Za-z0-9_.\\]*)\s*\(")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def refused_calls(formula: str) -> list[tuple[str, str]]:
    """(name as written, why) of each function the formula calls that verify will not run.

    A name counts with any prefix before a dot: `_xlfn.WEBSERVICE` is how an .xlsx stores
    WEBSERVICE and what LibreOffice evaluates, and `_xludf.`, `_xlws.`, `ORG.OPENOFFICE.`
    and the like prefix names too; checking every dotted tail catches each."""
    found = []
    for name in _CALL.findall(_STRING.sub('""', formula)):
        words = name.upper().split(".")
        tails = {".".join(words[i:]) for i in range(len(words))}
        if tails & REACHING_FUNCTIONS:
            found.append((name, "which reaches outside the file; verify recalculates nothing that could "
                                "connect anywhere"))
        elif tails & MACHINE_FUNCTIONS:
            found.append((name, "which reads this machine (its environment, files or paths); verify "
                                "recalculates nothing that reads the machine"))
    return found


def _refuse_calls(formula: str, where: str) -> None:
    calls = refused_calls(formula)
    if calls:
        name, why = calls[0]
        raise VerifyError(f"refused: {where} calls {name.upper()}, {why}")


def _kind(type_uri: str) -> str:
    """'connections' from '.../relationships/connections' or
    'application/vnd.openxmlformats-officedocument.spreadsheetml.connections+xml'."""
    word = type_uri.rpartition("/")[2].partition("+")[0].partition(";")[0]
    return word.rpartition(".")[2].strip().lower()


def _refuse_what_reaches_out(zf: zipfile.ZipFile, deadline: float | None = None) -> None:
    """VerifyError for a workbook that would make the engine connect anywhere: a relationship
    to a target outside the file (an image linked by URL, a hyperlink, an OLE object, another
    workbook), a data connection or query, or a part no engine here checks (a macro sheet),
    by its name, its content type or the type of a relationship to it. Checked before any
    engine sees the file: a workbook someone sent must not reach a network, nor a file of
    this machine."""
    for name in zf.namelist():
        if _REACHING_PARTS.search(name):
            raise VerifyError(f"refused: it holds {name}, a connection to data outside the file")
    types = _parse_small(zf, "[Content_Types].xml", deadline)
    for entry in types:
        what = _REFUSED_KINDS.get(_kind(entry.get("ContentType", "")))
        if what:
            part = entry.get("PartName") or f"*.{entry.get('Extension', '')}"
            raise VerifyError(f"refused: it holds {part.lstrip('/')}, {what} (content type "
                              f"{entry.get('ContentType')}); verify opens nothing that reaches outside")
    for name in zf.namelist():
        if not name.endswith(".rels"):
            continue
        for rel in _parse_small(zf, name, deadline):
            if _local(rel.tag) != "Relationship":
                continue
            if rel.get("TargetMode") == "External":
                kind = rel.get("Type", "").rpartition("/")[2] or "relationship"
                raise VerifyError(f"refused: {name} links to {rel.get('Target', '')!r} outside the file "
                                  f"(an external {kind}); verify opens nothing that reaches outside")
            what = _REFUSED_KINDS.get(_kind(rel.get("Type", "")))
            if what:
                raise VerifyError(f"refused: {name} leads to {rel.get('Target', '')!r}, {what} (relationship "
                                  f"type {rel.get('Type')}); verify opens nothing that reaches outside")


def _rels(zf: zipfile.ZipFile, part: str, deadline: float | None = None) -> dict[str, tuple[str, str]]:
    """{Id: (Type, resolved target member)} of a part's .rels, or {}."""
    base, name = posixpath.split(part)
    rels_name = posixpath.join(base, "_rels", name + ".rels")
    if rels_name not in zf.NameToInfo:
        return {}
    out = {}
    root = _parse_small(zf, rels_name, deadline)
    for rel in root:
        if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            resolved = posixpath.normpath(target.lstrip("/"))
        else:
            resolved = posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
    return out


def _workbook_part(zf: zipfile.ZipFile, deadline: float | None = None) -> str:
    for typ, target in _rels(zf, "", deadline).values():
        if typ.endswith("/officeDocument"):
            return target
    return "xl/workbook.xml"


def _sheet_parts(zf: zipfile.ZipFile, deadline: float | None = None,
                 check: bool = False) -> tuple[str, list[tuple[str, str]], dict]:
    """(workbook part, [(sheet name, worksheet member)], workbook rels).

    check=True (the workbook to verify): refuse what another program would read otherwise
    than this reader, so that no sheet goes unchecked: two sheets of one name (names are
    compared without case, as Excel does), a sheet whose part is missing or named with
    percent-escapes (read as another name, or not at all), a sheet of a kind other than a
    worksheet or chart sheet, and defined names that call what verify refuses."""
    wb_part = _workbook_part(zf, deadline)
    if wb_part not in zf.NameToInfo:
        raise VerifyError(f"no workbook part ({wb_part}) in the archive")
    rels = _rels(zf, wb_part, deadline)
    root = _parse_small(zf, wb_part, deadline)
    sheets = []
    seen: dict[str, str] = {}
    for elem in root.iter():
        tag = _local(elem.tag)
        if check and tag == "definedName":
            _refuse_calls(elem.text or "", f"the defined name {elem.get('name', '?')}")
        if tag != "sheet":
            continue
        rid = None
        for k, v in elem.attrib.items():
            if _local(k) == "id":
                rid = v
        typ, target = rels.get(rid, ("", ""))
        name = elem.get("name", "?")
        if check:
            if name.casefold() in seen:
                raise VerifyError(f"refused: two sheets are named {seen[name.casefold()]!r} and {name!r} (one name "
                                  "to Excel); which one a program reads differs")
            seen[name.casefold()] = name
            if "%" in target:
                raise VerifyError(f"refused: sheet {name!r} is stored as {target!r}, a name with percent-escapes "
                                  "that programs resolve differently")
            if not typ.endswith(("/worksheet", "/chartsheet")):
                what = f"a {_kind(typ)} (relationship type {typ})" if typ else "no part the workbook relates"
                raise VerifyError(f"refused: sheet {name!r} is {what}, not a worksheet verify can check")
            if target not in zf.NameToInfo:
                raise VerifyError(f"refused: sheet {name!r} is stored as {target!r}, which is not in the file")
        if typ.endswith("/worksheet") and target in zf.NameToInfo:
            sheets.append((name, target))
    return wb_part, sheets, rels


def _rich_text(elem) -> str:
    """The text of a string item: plain <t>, or the runs <r><t> of rich text."""
    parts = []
    for child in elem:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _shared_strings(zf: zipfile.ZipFile, rels: dict, deadline: float | None = None) -> list[str]:
    member = next((t for typ, t in rels.values() if typ.endswith("/sharedStrings")), None)
    if member is None or member not in zf.NameToInfo:
        return []
    return [_rich_text(elem) for elem in _stream(zf, member, "si", deadline)]


_COL_CACHE: dict[str, int] = {}
_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def _col_index(letters: str) -> int:
    idx = _COL_CACHE.get(letters)
    if idx is None:
        n = 0
        for ch in letters.upper():
            n = n * 26 + (ord(ch) - 64)
        idx = n - 1
        if len(_COL_CACHE) < 20_000:
            _COL_CACHE[letters] = idx
    return idx


def _parse_ref(ref: str) -> tuple[int, int]:
    m = _REF_RE.fullmatch(ref)
    if not m:
        raise ValueError(f"bad cell reference {ref!r}")
    r, c = int(m.group(2)) - 1, _col_index(m.group(1))
    if not (0 <= r < MAX_ROW and 0 <= c < MAX_COL):
        raise ValueError(f"cell reference out of range {ref!r}")
    return r, c


def _row_number(text: str, member: str) -> int:
    """A <row>'s r attribute as a 0-based row: a whole number from 1 to MAX_ROW, as Excel reads
    it; anything else ("-5", "0", "1e3") is refused rather than read as some other cell."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ROW:
        raise VerifyError(f"refused: a <row> of {member} has r={text[:20]!r}, not a row number from 1 to "
                          f"{MAX_ROW:,}")
    return int(text) - 1


def _col_letters(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


def _a1(r: int, c: int) -> str:
    return f"{_col_letters(c)}{r + 1}"


def _cell_value(c, ns: str, shared: list[str]):
    """Cached value of a <c> element: float, bool, str, ErrorValue, or None if absent."""
    t = c.get("t", "n")
    if t == "inlineStr":
        is_ = c.find(ns + "is")
        if is_ is None:
            return None
        return _rich_text(is_)
    v = c.find(ns + "v")
    text = None if v is None else v.text
    if t == "str":
        return text or ""
    if v is not None and not text and t == "n" and c.find(ns + "f") is not None:
        return ""  # a formula's empty-text result, as XlsxWriter stores it: <v></v>, no type
    if text is None or text == "":
        return None
    if t == "n":
        try:
            return float(text)
        except ValueError:
            return None
    if t == "b":
        return text.strip() not in ("0", "false", "FALSE")
    if t == "e":
        return ErrorValue(text.strip())
    if t == "s":
        try:
            return shared[int(text)]
        except (ValueError, IndexError):
            return None
    return text  # "d" (ISO date) and anything unknown: compare as text


_RANGE_CELLS = re.compile(r"(?<![A-Za-z0-9_.$])\$?([A-Za-z]{1,3})\$?([0-9]{1,7})\s*:"
                          r"\s*\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?![A-Za-z0-9_.(])")
_RANGE_COLS = re.compile(r"(?<![A-Za-z0-9_.$])\$?([A-Za-z]{1,3})\s*:\s*\$?([A-Za-z]{1,3})(?![A-Za-z0-9_.(!])")
_RANGE_ROWS = re.compile(r"(?<![A-Za-z0-9_.$:])\$?([0-9]{1,7})\s*:\s*\$?([0-9]{1,7})(?![0-9.:])")


def range_cells(formula: str) -> int:
    """Cells of the largest range a formula names (A1:D9, whole columns A:C, whole rows 1:3)."""
    text = _STRING.sub('""', formula)
    largest = 0
    for a, r1, b, r2 in _RANGE_CELLS.findall(text):
        largest = max(largest, (abs(_col_index(b) - _col_index(a)) + 1) * (abs(int(r2) - int(r1)) + 1))
    for a, b in _RANGE_COLS.findall(text):
        largest = max(largest, (abs(_col_index(b) - _col_index(a)) + 1) * MAX_ROW)
    for r1, r2 in _RANGE_ROWS.findall(text):
        largest = max(largest, (abs(int(r2) - int(r1)) + 1) * MAX_COL)
    return largest


def _refuse_large_ranges(formula: str, where: str) -> None:
    n = range_cells(formula)
    if n > MAX_RANGE_CELLS:
        raise VerifyError(f"refused: {where} names a range of {n:,} cells (limit {MAX_RANGE_CELLS:,}): a formula "
                          "that small can make the engine hold and compute millions of values")


def _read_sheet(zf, member, shared, *, wanted=None, budget, deadline=None):
    """Read one worksheet.

    wanted=None: return {(row, col): (formula text or '', cached value)} of the
    formula cells (array ranges expanded; unseen range cells get value None).
    wanted=set: return {(row, col): value} for just those cells.
    """
    formulas: dict[tuple[int, int], tuple[str, object]] = {}
    values: dict[tuple[int, int], object] = {}
    pending: dict[tuple[int, int], str] = {}  # array-range cells not seen yet
    ns = None
    row_idx = -1
    items = "row" if wanted is not None else ("row", "formula", "formula1", "formula2")
    for elem in _stream(zf, member, items, deadline):
        tag = elem.tag
        if _local(tag) != "row":  # a conditional format's or a validation's formula: never a value
            _refuse_calls(elem.text or "", f"a conditional format or data validation of {member}")
            _refuse_large_ranges(elem.text or "", f"a conditional format or data validation of {member}")
            continue
        if ns is None:
            ns = tag[: tag.index("}") + 1] if tag.startswith("{") else ""
        r_attr = elem.get("r")
        row_idx = _row_number(r_attr, member) if r_attr else row_idx + 1
        col_idx = -1
        for c in elem:
            if c.tag != ns + "c":
                continue
            ref = c.get("r")
            if ref:
                r, col_idx = _parse_ref(ref)
            else:
                r, col_idx = row_idx, col_idx + 1
            key = (r, col_idx)
            if wanted is not None:
                if key in wanted:
                    values[key] = _cell_value(c, ns, shared)
                continue
            f = c.find(ns + "f")
            if f is not None:
                text = f.text or ""
                if f.get("t") == "dataTable":
                    raise VerifyError(f"refused: {member} cell {_a1(*key)} holds a data table (what-if table), "
                                      "which the engines here recalculate otherwise than Excel, or not at all")
                _refuse_large_ranges(text, f"{member} cell {_a1(*key)}")
                if f.get("t") == "array" and f.get("ref"):
                    a, _, b = f.get("ref").partition(":")
                    (r1, c1), (r2, c2) = _parse_ref(a), _parse_ref(b or a)
                    n = (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)
                    if n > MAX_ARRAY_CELLS:
                        raise VerifyError(f"refused: {member} cell {_a1(*key)} holds an array formula over "
                                          f"{f.get('ref')}, {n:,} cells (limit {MAX_ARRAY_CELLS:,}): a few bytes "
                                          "that would make the engine compute and write millions of cells")
                    budget[0] -= n
                    if budget[0] < 0:
                        raise VerifyError(f"more than {MAX_FORMULA_CELLS:,} formula cells")
                    label = "{=" + text + "}"
                    text = label
                    for rr in range(min(r1, r2), max(r1, r2) + 1):
                        for cc in range(min(c1, c2), max(c1, c2) + 1):
                            if (rr, cc) != key and (rr, cc) not in formulas:
                                pending[(rr, cc)] = label
                else:
                    budget[0] -= 1
                    if budget[0] < 0:
                        raise VerifyError(f"more than {MAX_FORMULA_CELLS:,} formula cells")
                pending.pop(key, None)
                formulas[key] = (text, _cell_value(c, ns, shared))
            elif key in pending:
                formulas[key] = (pending.pop(key), _cell_value(c, ns, shared))
        elem.clear()
    if wanted is not None:
        return values
    for key, label in pending.items():  # array-range cells absent from the file
        formulas[key] = (label, None)
    return formulas


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise VerifyError(f"{path}: not an .xlsx workbook ({exc})") from None


def read_formula_cells(xlsx_path: str | os.PathLike,
                       deadline: float | None = None) -> dict[str, dict[tuple[int, int], tuple[str, object]]]:
    """{sheet: {(row, col) zero-based: (formula, cached value)}} of every formula cell.

    Cells inside an array formula's range are included (formula shown as
    '{=...}'); a cached value the file does not hold is None.  Runs the
    archive checks first.
    """
    path = Path(xlsx_path)
    check_archive(path)
    with _open_zip(path) as zf:
        try:
            _refuse_what_reaches_out(zf, deadline)
            _wb, sheets, rels = _sheet_parts(zf, deadline, check=True)
            shared = _shared_strings(zf, rels, deadline)
            budget = [MAX_FORMULA_CELLS]
            cells = {name: _read_sheet(zf, member, shared, budget=budget, deadline=deadline)
                     for name, member in sheets}
            for name, found in cells.items():
                for key, (formula, _value) in found.items():
                    _refuse_calls(formula, f"{name}!{_a1(*key)}")
            return cells
        except VerifyError as exc:
            raise VerifyError(f"{path}: {exc}") from None
        except (ParseError, DefusedXmlException, KeyError, ValueError,
                zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
            # zlib.error: a damaged deflate stream; NotImplementedError: a compression method
            # zipfile cannot read (check_archive refuses any an .xlsx does not use first)
            raise VerifyError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _read_values(path: Path, wanted: dict[str, set],
                 deadline: float | None = None) -> tuple[dict[str, dict | None], str]:
    """Values of the wanted cells per sheet (None for a missing sheet), and the app name."""
    with _open_zip(path) as zf:
        try:
            _wb, sheets, rels = _sheet_parts(zf, deadline)
            shared = _shared_strings(zf, rels, deadline)
            members = dict(sheets)
            out: dict[str, dict | None] = {}
            for name, cells in wanted.items():
                member = members.get(name)
                out[name] = (None if member is None else
                             _read_sheet(zf, member, shared, wanted=cells, budget=[0], deadline=deadline))
            return out, _application(zf)
        except (ParseError, DefusedXmlException, KeyError, ValueError,
                zipfile.BadZipFile, EOFError) as exc:
            raise VerifyError(f"cannot read the recalculated workbook ({exc})") from None


_MACRO_PART = re.compile(r"(?i)(?:^|/)(?:vbaProject[^/]*\.bin$|macrosheets/|activeX/)")


def _macro_parts(path: Path) -> list[str]:
    """Zip members that hold macros (VBA projects, Excel 4 macro sheets, ActiveX), if any."""
    with _open_zip(path) as zf:
        return [name for name in zf.namelist() if _MACRO_PART.search(name)]


def _application(zf: zipfile.ZipFile) -> str:
    """'LibreOffice 7.4.7.2' from docProps/app.xml, or 'LibreOffice'."""
    member = next((t for typ, t in _rels(zf, "").values()
                   if typ.endswith("/extended-properties")), "docProps/app.xml")
    if member not in zf.NameToInfo:
        return "LibreOffice"
    root = _parse_small(zf, member)
    for elem in root:
        if _local(elem.tag) == "Application" and elem.text:
            # e.g. "LibreOffice/7.4.7.2$Linux_X86_64 LibreOffice_project/40$Build-2"
            m = re.match(r"([A-Za-z ]+)/([0-9][0-9.]*)", elem.text)
            name = f"{m.group(1)} {m.group(2).rstrip('.')}" if m else elem.text.split("$")[0]
            return "Gnumeric" if name == "gnumeric" else name
    return "LibreOffice"


# --------------------------------------------------------------------------- comparison


def _is_error(v: object) -> bool:
    return isinstance(v, ErrorValue) or (isinstance(v, str) and _ERROR_RE.fullmatch(v) is not None)


def _diff(cached: object, recalc: object) -> float:
    if cached is None or recalc is None:
        return math.inf
    c_num = isinstance(cached, (int, float))  # bool is an int: True/False -> 1/0
    r_num = isinstance(recalc, (int, float))
    if c_num and r_num:
        a, b = float(cached), float(recalc)
        if math.isnan(a) or math.isnan(b):
            return math.inf
        if a == b:
            return 0.0
        d = abs(a - b) / max(1.0, abs(b))
        return d if not math.isnan(d) else math.inf
    if isinstance(cached, str) and isinstance(recalc, str):
        return 0.0 if str(cached) == str(recalc) else math.inf
    return math.inf


def engine_title(engine: str) -> str:
    return ENGINE_TITLES.get(engine, engine)


def _run(given: Path, deadline: float, timeout: float, soffice, engine):
    """The reading, the engine and the reading of its result, for :func:`verify`:
    (formula cells, notes, recalculated values, the engine's name and version)."""
    private = _private_copy(given)
    try:
        path = private / given.name  # checked, parsed and converted: the one copy, whoever changes `given`
        try:
            original = read_formula_cells(path, deadline)  # runs check_archive first
        except VerifyError as exc:
            raise VerifyError(str(exc).replace(str(path), str(given))) from None
        if not any(original.values()):  # OK over nothing checked would say nothing
            raise VerifyError(f"{given}: holds no formula cell, so there is nothing to verify (verify compares "
                              "formulas' cached values with a recalculation)")
        how = ("LibreOffice ran with macro execution disabled" if engine == "libreoffice"
               else f"{engine_title(engine)} runs no macros")
        notes = [f"{', '.join(parts)} hold{'s' if len(parts) == 1 else ''} macros; {how}, so none ran"
                 for parts in [_macro_parts(path)] if parts]
        wanted = {name: set(cells) for name, cells in original.items() if cells}
        left = deadline - time.monotonic()
        if left <= 0:
            raise VerifyError(f"{given}: reading the workbook took longer than the time allowed ({timeout:g} s)")
        try:
            recalced = recalculate(path, timeout=left, soffice=soffice, engine=engine)
        except RecalcTimeout:  # said with the command's own limit, not what was left of it
            raise RecalcTimeout(f"{engine_title(engine)} did not finish recalculating {given.name} within "
                                f"{timeout:g} s (killed); pass a larger timeout for big workbooks") from None
    finally:
        shutil.rmtree(private, ignore_errors=True)
    try:
        values, app = _read_values(recalced, wanted, deadline)
    except VerifyError as exc:
        if time.monotonic() <= deadline:
            raise
        raise VerifyError(f"{given}: reading {engine_title(engine)}'s result took longer than the time allowed "
                          f"({timeout:g} s, the engine's run included)") from None
    finally:
        shutil.rmtree(recalced.parent, ignore_errors=True)
    return original, notes, values, app


def verify(xlsx_path: str | os.PathLike, *, tol: float = 1e-9, timeout: float = VERIFY_TIMEOUT,
           soffice: str | None = None, engine: str = "libreoffice") -> Report:
    """Recalculate xlsx_path in `engine` (LibreOffice, or Gnumeric) and compare with its
    cached values.

    Raises VerifyError for a file refused as unsafe or unreadable (checked
    before the engine starts), sheets.recalc.NoEngine when the engine is
    missing and sheets.recalc.RecalcError when it fails.
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, not {tol!r}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ValueError(f"timeout must be a finite number of seconds above 0 and at most {MAX_TIMEOUT:g}, "
                         f"not {timeout!r}")
    # `timeout` covers the whole command: reading the workbook, the engine and reading its result.
    deadline = time.monotonic() + timeout
    given = Path(xlsx_path)
    try:
        original, notes, values, app = _run(given, deadline, timeout, soffice, engine)
    except OSError as exc:  # the temporary folder full or unwritable: nothing of the user's is touched
        raise VerifyError(f"{given}: cannot work in the temporary folder {tempfile.gettempdir()} "
                          f"({exc.strerror or exc})") from None
    wanted = {name for name, cells in original.items() if cells}

    checked = 0
    max_diff = 0.0
    n_over = 0
    heap: list[tuple[float, int, tuple]] = []
    errors: list[tuple[str, str, object]] = []
    details: list[str] = []
    seq = 0
    for sheet, cells in original.items():
        new_vals = values.get(sheet, {})
        if sheet in wanted and new_vals is None:
            details.append(f"sheet {sheet!r} is missing from {engine_title(engine)}'s output")
            new_vals = {}
        for key in sorted(cells):
            _formula, cached = cells[key]
            recalc = new_vals.get(key)
            checked += 1
            ref = _a1(*key)
            if _is_error(recalc):
                errors.append((sheet, ref, recalc))
            elif _is_error(cached):
                errors.append((sheet, ref, cached))
            d = _diff(cached, recalc)
            if d > max_diff:
                max_diff = d
            if d > tol:
                n_over += 1
            seq += 1
            item = (d, -seq, (sheet, ref, cached, recalc, d))
            if len(heap) < N_WORST:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
    worst = [t for _d, _s, t in sorted(heap, reverse=True)]
    ok = max_diff <= tol and not errors and not details and checked > 0
    return Report(
        cells_checked=checked, max_diff=max_diff, worst=worst, errors=errors, ok=ok,
        tol=tol, engine=app, n_over_tol=n_over, sheets=len(original), details=details, notes=notes,
        recalculated={sheet: dict(v or {}) for sheet, v in values.items()},
    )
