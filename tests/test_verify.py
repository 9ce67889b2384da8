"""sheets.verify / sheets.recalc: cached values against a LibreOffice recalculation.

Tests marked ``libreoffice`` launch soffice (about a second each, so the cases
are packed into few workbooks).  Without soffice they FAIL with the install
hint, unless TITANIC_REG_SKIP_LIBREOFFICE=1 is set.
"""

from __future__ import annotations

import math
import re
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import xlsxwriter

from titanic_reg.sheets import recalc as recalc_mod
from titanic_reg.sheets import verify as verify_mod
from titanic_reg.sheets.recalc import NoLibreOffice, RecalcError, find_soffice, recalculate, recalculated
from titanic_reg.sheets.verify import ErrorValue, VerifyError, check_archive, read_formula_cells, verify


@pytest.fixture(autouse=True)
def _need_libreoffice(request):
    if request.node.get_closest_marker("libreoffice") is None:
        return
    if find_soffice() is None:
        if os.environ.get("TITANIC_REG_SKIP_LIBREOFFICE") == "1":
            pytest.skip("LibreOffice not installed (TITANIC_REG_SKIP_LIBREOFFICE=1)")
        pytest.fail(str(NoLibreOffice()) + " (or set TITANIC_REG_SKIP_LIBREOFFICE=1 to skip)")


# --------------------------------------------------------------------------- workbooks

X = [1.0, 2.0, 3.0, 4.0, 5.0]
Y = [2.0, 4.0, 5.0, 4.0, 5.0]
_MX, _MY = sum(X) / 5, sum(Y) / 5
SLOPE = sum((x - _MX) * (y - _MY) for x, y in zip(X, Y)) / sum((x - _MX) ** 2 for x in X)
INTERCEPT = _MY - SLOPE * _MX

# (sheet, cell) -> (formula, correct cached value)
GOOD_CELLS = {
    ("Data", "C1"): ("=SUM(A1:A5)", 15.0),
    ("Data", "C2"): ("=A1*2", 2.0),
    ("Data", "C3"): ("=SUMPRODUCT(A1:A5,B1:B5)", 66.0),
    ("Data", "C4"): ("=LOG10(A1+1)", math.log10(2)),
    ("Data", "C5"): ("=IF(A1<0,0,A1)", 1.0),
    ("Data", "C6"): ("=Rate*3", 6.0),          # defined name Rate = Data!$A$2
    ("Data", "C7"): ("=A3>2", True),
    ("Data", "C8"): ('="n="&COUNT(A1:A5)', "n=5"),
    ("Data", "C9"): ("=1/3", 1 / 3),
    ("Data", "C10"): ("=EXP(B5*4)", math.exp(20.0)),  # > 1: relative difference
    # Leading empty rows and columns on this sheet: coordinates must still line up.
    ("Second sheet", "D5"): ("=Data!C1*2", 30.0),
    ("Second sheet", "E7"): ("=SUM(Data!A1:A5)/COUNT(Data!A1:A5)", 3.0),
}
# Array formulas: (sheet, range, formula, cached values row by row)
GOOD_ARRAYS = [
    ("Data", "E1:F2", "{=MMULT(A1:B2,A1:B2)}", [[5.0, 10.0], [10.0, 20.0]]),
    ("Data", "E4:F4", "{=LINEST(B1:B5,A1:A5)}", [[SLOPE, INTERCEPT]]),
]
N_GOOD = len(GOOD_CELLS) + 4 + 2


def _write_array(ws, rng, formula, values):
    """XlsxWriter caches only the top-left value; the others are written as numbers."""
    ws.write_array_formula(rng, formula, None, values[0][0])
    (r0, c0), _ = (xlsxwriter.utility.xl_cell_to_rowcol(x) for x in rng.split(":"))
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if i or j:
                ws.write_number(r0 + i, c0 + j, v)


def build(path, cells=GOOD_CELLS, arrays=GOOD_ARRAYS, override=None):
    """Write the test workbook; override maps (sheet, cell or range cell) to a cached value."""
    override = override or {}
    wb = xlsxwriter.Workbook(str(path))
    sheets = {}
    for name in ("Data", "Second sheet"):
        sheets[name] = wb.add_worksheet(name)
    data = sheets["Data"]
    for i, (x, y) in enumerate(zip(X, Y)):
        data.write_number(i, 0, x)
        data.write_number(i, 1, y)
    wb.define_name("Rate", "=Data!$A$2")
    for (sheet, cell), (formula, value) in cells.items():
        value = override.get((sheet, cell), value)
        sheets[sheet].write_formula(cell, formula, None, value)
    for sheet, rng, formula, values in arrays:
        values = [list(r) for r in values]
        r0, c0 = xlsxwriter.utility.xl_cell_to_rowcol(rng.split(":")[0])
        for (s, cell), v in override.items():
            r, c = xlsxwriter.utility.xl_cell_to_rowcol(cell)
            if s == sheet and 0 <= r - r0 < len(values) and 0 <= c - c0 < len(values[0]):
                values[r - r0][c - c0] = v
        _write_array(sheets[sheet], rng, formula, values)
    wb.close()
    return path


@pytest.fixture
def good_xlsx(tmp_path):
    return build(tmp_path / "good.xlsx")


# --------------------------------------------------------------------------- no LibreOffice needed


def _rezip(src, dst, method_of):
    """src's members written again, each with the compression method method_of(name) picks."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename), compress_type=method_of(info.filename))
    return dst


def test_a_member_compressed_as_no_xlsx_is_refused_in_one_line(good_xlsx, tmp_path):
    """zipfile cannot read bzip2 or lzma in every build, and an .xlsx never uses them: a
    NotImplementedError traceback before."""
    bz = _rezip(good_xlsx, tmp_path / "bz.xlsx",
                lambda name: zipfile.ZIP_BZIP2 if name.endswith("sheet1.xml") else zipfile.ZIP_DEFLATED)
    with pytest.raises(VerifyError, match=r"bz\.xlsx: not an \.xlsx workbook \(zip member xl/worksheets/sheet1\.xml "
                                          r"uses compression method 12; an \.xlsx stores or deflates\)$"):
        verify(bz)


def test_a_damaged_deflate_stream_is_refused_in_one_line(good_xlsx, tmp_path):
    """Bytes flipped inside a sheet's compressed data: a zlib.error traceback before."""
    src = _rezip(good_xlsx, tmp_path / "deflated.xlsx", lambda name: zipfile.ZIP_DEFLATED)
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 20
    for i in range(start, min(start + 40, start + info.compress_size - 30)):
        data[i] ^= 0x5A
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(data))
    with pytest.raises(VerifyError, match=r"damaged\.xlsx: not a readable \.xlsx workbook \("):
        verify(damaged)


def test_read_formula_cells_finds_every_formula_cell(good_xlsx):
    cells = read_formula_cells(good_xlsx)
    assert list(cells) == ["Data", "Second sheet"]
    assert sum(len(v) for v in cells.values()) == N_GOOD
    data, second = cells["Data"], cells["Second sheet"]
    assert data[(2, 2)] == ("SUMPRODUCT(A1:A5,B1:B5)", 66.0)          # C3
    assert data[(6, 2)] == ("A3>2", True)                               # C7, boolean
    assert data[(7, 2)] == ('"n="&COUNT(A1:A5)', "n=5")                  # C8, text
    # every cell of the array ranges is a formula cell with its own cached value
    assert data[(0, 4)] == ("{=MMULT(A1:B2,A1:B2)}", 5.0)
    assert data[(1, 5)] == ("{=MMULT(A1:B2,A1:B2)}", 20.0)
    assert data[(3, 5)] == ("{=LINEST(B1:B5,A1:A5)}", pytest.approx(INTERCEPT))
    assert (0, 0) not in data                                           # plain number
    assert set(second) == {(4, 3), (6, 4)}                              # D5, E7


def test_an_empty_cached_value_is_empty_text(tmp_path):
    """XlsxWriter stores a formula's empty-text result (="" , the Recipe sheet's missing level)
    as an empty <v/>: that reads as "", which only an empty-text recalculation matches."""
    path = tmp_path / "blank.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    ws.write_number("A1", 1)
    ws.write_formula("B1", "=A1+1", None, "")   # XlsxWriter writes an empty <v/>
    ws.write_formula("C1", '=""', None, "")
    wb.close()
    assert read_formula_cells(path) == {"S": {(0, 1): ("A1+1", ""), (0, 2): ('""', "")}}
    assert math.isinf(verify_mod._diff("", 2.0)) and verify_mod._diff("", "") == 0


def test_diff_rules():
    d = verify_mod._diff
    assert d(1.0, 1.0) == 0
    assert d(0.5, 0.5 + 1e-12) == pytest.approx(1e-12)
    assert d(2e6, 2e6 + 2) == pytest.approx(1e-6)                   # relative above 1
    assert d(True, 1.0) == 0 and d(False, 0.0) == 0 and d(True, False) == 1
    assert d("a", "a") == 0 and math.isinf(d("a", "b")) and math.isinf(d("1", 1.0))
    assert math.isinf(d(None, 1.0)) and math.isinf(d(1.0, None))
    assert d(ErrorValue("#N/A"), ErrorValue("#N/A")) == 0
    assert verify_mod._is_error(ErrorValue("#DIV/0!")) and verify_mod._is_error("Err:502")
    assert not verify_mod._is_error("n=5")


def test_not_xlsx_refused(tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("just text, not a workbook\n")
    with pytest.raises(VerifyError, match="not an .xlsx"):
        verify(text, soffice="/nonexistent/soffice")   # refused before LibreOffice
    plain_zip = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(VerifyError, match="not an .xlsx"):
        verify(plain_zip, soffice="/nonexistent/soffice")
    with pytest.raises(VerifyError, match="cannot read"):
        verify(tmp_path / "absent.xlsx", soffice="/nonexistent/soffice")


def test_zip_bomb_refused(tmp_path, good_xlsx):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 << 20))   # ~1000:1
    with pytest.raises(VerifyError, match="zip bomb.*sheet1.xml"):
        verify(bomb, soffice="/nonexistent/soffice")
    check_archive(good_xlsx)   # a real workbook passes


def test_size_limits_refused(tmp_path, good_xlsx, monkeypatch):
    monkeypatch.setattr(verify_mod, "MAX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(VerifyError, match="zip bomb.*expand to"):
        check_archive(good_xlsx)
    monkeypatch.setattr(verify_mod, "MAX_FILE_BYTES", 100)
    with pytest.raises(VerifyError, match="larger than"):
        verify(good_xlsx, soffice="/nonexistent/soffice")


def test_xml_entities_refused(tmp_path):
    path = build(tmp_path / "evil.xlsx")
    evil = tmp_path / "evil2.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/workbook.xml":
                data = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                        + data.split(b"?>", 1)[1])
            dst.writestr(info, data)
    with pytest.raises(VerifyError, match="not a readable"):
        read_formula_cells(evil)


def test_no_libreoffice_message(good_xlsx, monkeypatch):
    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: None)
    with pytest.raises(NoLibreOffice, match="apt-get install -y --no-install-recommends libreoffice-calc"):
        recalculate(good_xlsx)
    assert issubclass(NoLibreOffice, RecalcError)


def test_recalculated_removes_its_directory(good_xlsx, monkeypatch, tmp_path):
    def fake(path, *, timeout, soffice, engine):
        out = tmp_path / "fake-result"
        out.mkdir()
        shutil.copyfile(path, out / "good.xlsx")
        return out / "good.xlsx"

    monkeypatch.setattr(recalc_mod, "recalculate", fake)
    with recalculated(good_xlsx) as p:
        assert p.is_file()
    assert not p.parent.exists()


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.libreoffice
def test_verify_good_workbook(good_xlsx):
    report = verify(good_xlsx)
    assert report.cells_checked == N_GOOD
    assert report.errors == []
    assert report.max_diff < 1e-12, report.summary()
    assert report.ok, report.summary()
    assert report.engine.startswith("LibreOffice ")
    text = report.summary()
    assert f"checked {N_GOOD} formula cells on 2 sheets in LibreOffice" in text
    assert "OK" in text


@pytest.mark.libreoffice
def test_verify_catches_one_wrong_cached_value(tmp_path):
    # If LibreOffice kept the cached values, this would pass.
    path = build(tmp_path / "wrong.xlsx", override={("Data", "C3"): 67.0})
    report = verify(path)
    assert not report.ok
    assert report.cells_checked == N_GOOD
    assert report.n_over_tol == 1
    sheet, cell, cached, recalc, diff = report.worst[0]
    assert (sheet, cell, cached, recalc) == ("Data", "C3", 67.0, 66.0)
    assert diff == pytest.approx(1 / 66)
    assert report.worst[1][4] < 1e-12
    assert "Data!C3: cached 67.0, recalculated 66.0" in report.summary()


@pytest.mark.libreoffice
def test_verify_reports_error_cells_and_wrong_array_cell(tmp_path):
    cells = {
        ("Data", "C1"): ("=SUM(A1:A5)", 15.0),
        ("Data", "C2"): ("=1/0", 0.0),
        ("Data", "C3"): ("=FOO(1)", 0.0),
        ("Second sheet", "B2"): ("=Data!A1/(Data!A1-1)", 0.0),
    }
    path = build(tmp_path / "errors.xlsx", cells=cells,
                 override={("Data", "F2"): 21.0})      # MMULT bottom-right is 20
    report = verify(path)
    assert not report.ok
    assert report.cells_checked == len(cells) + 6
    errs = {(s, c): v for s, c, v in report.errors}
    assert errs == {("Data", "C2"): "#DIV/0!", ("Data", "C3"): "#NAME?",
                    ("Second sheet", "B2"): "#DIV/0!"}
    assert all(isinstance(v, ErrorValue) for v in errs.values())
    assert ("Data", "F2", 21.0, 20.0) in [w[:4] for w in report.worst]
    text = report.summary()
    assert "3 formula cells hold errors" in text and "'Second sheet'!B2 #DIV/0!" in text


@pytest.mark.libreoffice
def test_recalculate_output(good_xlsx):
    """Parallel runs don't collide; the output keeps names and array formulas;
    our reader and python-calamine agree on it once calamine's offset is applied."""
    from python_calamine import CalamineWorkbook

    broken = build(good_xlsx.parent / "stale.xlsx", override={("Data", "C1"): 99.0})
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(recalculate, [good_xlsx, broken]))
    try:
        for p in paths:
            assert p.is_file() and p.parent != good_xlsx.parent
        out = paths[0]
        with zipfile.ZipFile(out) as zf:
            wb_xml = zf.read("xl/workbook.xml").decode()
            sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
        assert 'name="Rate"' in wb_xml                       # defined name kept
        assert 't="array" ref="E1:F2"' in sheet_xml          # array formula kept
        assert read_formula_cells(out)["Data"][(0, 2)][1] == 15.0
        assert read_formula_cells(paths[1])["Data"][(0, 2)][1] == 15.0   # 99 recomputed

        wanted = {n: set(c) for n, c in read_formula_cells(good_xlsx).items()}
        ours, engine = verify_mod._read_values(out, wanted)
        assert engine.startswith("LibreOffice ")
        cal = CalamineWorkbook.from_path(str(out))
        for name, cells in wanted.items():
            sheet = cal.get_sheet_by_name(name)
            r0, c0 = sheet.start                               # to_python() starts here
            rows = sheet.to_python()
            for r, c in cells:
                assert rows[r - r0][c - c0] == ours[name][(r, c)], (name, r, c)
        assert cal.get_sheet_by_name("Second sheet").start == (4, 3)   # D5, not A1
    finally:
        for p in paths:
            shutil.rmtree(p.parent, ignore_errors=True)


@pytest.mark.libreoffice
def test_recalculate_timeout_and_bad_input(tmp_path, good_xlsx):
    with pytest.raises(RecalcError, match=r"within 0.2 s \(killed\)"):
        recalculate(good_xlsx, timeout=0.2)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00junk" * 100)
    with pytest.raises(RecalcError, match="no output|exit code"):
        recalculate(junk)


@pytest.mark.libreoffice
def test_libreoffice_leaves_nothing_in_the_temp_folder(tmp_path, good_xlsx, monkeypatch):
    """Its scratch files and IPC pipe go to a folder of ours, removed even when it is killed."""
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    with pytest.raises(RecalcError, match="within"):
        recalculate(good_xlsx, timeout=0.3)  # killed part-way
    shutil.rmtree(recalculate(good_xlsx).parent)
    assert list(scratch.iterdir()) == []


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:  # it has ended meanwhile
            continue
        for task in tasks:
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                if k not in found:
                    found.add(k)
                    todo.append(k)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:  # it has ended meanwhile
        return ""


def _running(pids: set[int]) -> set[int]:
    """The ones still running (a zombie waiting to be reaped is not)."""
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.add(p)
    return alive


@pytest.mark.libreoffice
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_sighup_during_verify_stops_libreoffice_and_leaves_no_copy(good_xlsx, tmp_path, signum, code):
    """Sent once LibreOffice runs (a point the process tree shows, not a time): LibreOffice
    ran on as an orphan and the temporary folder with the workbook's copy stayed, before."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.run()", "verify", str(good_xlsx)],
                            cwd=Path(__file__).resolve().parents[1], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started, office = time.monotonic(), set()
    while not office and proc.poll() is None and time.monotonic() - started < 60:
        office = {p for p in _descendants(proc.pid) if "soffice" in _cmdline(p)}
        time.sleep(0.01)
    if not office:
        pytest.skip("verify ended before LibreOffice could be seen")
    tree = _descendants(proc.pid)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("LibreOffice finished before the signal arrived")
    assert proc.returncode == code, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while _running(tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(tree), "LibreOffice kept running"
    assert list(scratch.iterdir()) == []


@pytest.mark.libreoffice
def test_libreoffice_killed_by_the_timeout_leaves_no_socket_in_tmp(good_xlsx, monkeypatch):
    """Its IPC socket (/tmp/OSL_PIPE_*) stayed behind when it was killed. The timeout is made
    to fire once the socket exists (a point, not a time), so the test cannot lose a race."""
    before = recalc_mod._osl_pipes()
    real = subprocess.Popen.communicate

    def communicate(self, input=None, timeout=None):
        if timeout is None or timeout < 1000:  # the reaping after the kill
            return real(self, input, timeout)
        deadline = time.monotonic() + 60
        while not recalc_mod._osl_pipes() - before and self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if not recalc_mod._osl_pipes() - before:
            pytest.skip("LibreOffice made no socket in /tmp here")
        raise subprocess.TimeoutExpired(self.args, timeout)

    monkeypatch.setattr(subprocess.Popen, "communicate", communicate)
    with pytest.raises(RecalcError, match="did not finish"):
        recalculate(good_xlsx, timeout=5000)
    assert recalc_mod._osl_pipes() - before == set()


@pytest.mark.libreoffice
def test_a_file_swapped_after_it_was_checked_never_reaches_libreoffice(good_xlsx, monkeypatch):
    """The checks, the parse and LibreOffice all read one private copy, made by reading the
    path once: here the path is replaced by junk right after the checks (each step reopened
    the path before, so the junk reached LibreOffice)."""
    real = verify_mod.read_formula_cells

    def read_then_swap(path, deadline=None):
        found = real(path, deadline)
        good_xlsx.write_bytes(b"PK\x03\x04" + b"junk" * 1000)  # the attacker's move
        return found

    monkeypatch.setattr(verify_mod, "read_formula_cells", read_then_swap)
    report = verify(good_xlsx)
    assert report.ok and report.cells_checked == N_GOOD, report.summary()


@pytest.mark.libreoffice
def test_gnumeric_killed_by_the_timeout_leaves_nothing_behind(tmp_path, good_xlsx, monkeypatch):
    import tempfile

    from tests.conftest import engine_or_fail

    engine_or_fail("gnumeric")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    with pytest.raises(RecalcError, match=r"^Gnumeric did not finish recalculating .* within 0.01 s \(killed\)"):
        recalculate(good_xlsx, engine="gnumeric", timeout=0.01)
    shutil.rmtree(recalculate(good_xlsx, engine="gnumeric").parent)
    assert list(scratch.iterdir()) == []


# --------------------------------------------------------------------------- nothing reaches outside


class _Listener:
    """A loopback port that counts what connects to it."""

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port, self.seen = self.sock.getsockname()[1], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(200))
                except OSError:
                    self.seen.append(b"")

    def close(self):
        self.sock.close()


def _image_linked_by_url(tmp_path, url):
    """A workbook whose picture is not in the file but linked by URL (r:link, TargetMode External)."""
    import struct
    import zlib

    import xlsxwriter

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = tmp_path / "dot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    embedded = tmp_path / "embedded.xlsx"
    with xlsxwriter.Workbook(embedded) as wb:
        ws = wb.add_worksheet("Data")
        ws.write_number("A1", 2)
        ws.write_formula("B1", "=A1*3", None, 6)
        ws.insert_image("C3", str(png))
    with zipfile.ZipFile(embedded) as z:
        parts = {n: z.read(n) for n in z.namelist() if not n.startswith("xl/media/")}
    rels = "xl/drawings/_rels/drawing1.xml.rels"
    parts[rels] = re.sub(rb'Target="[^"]*image1\.png"', f'Target="{url}" TargetMode="External"'.encode(), parts[rels])
    parts["xl/drawings/drawing1.xml"] = parts["xl/drawings/drawing1.xml"].replace(b"r:embed=", b"r:link=")
    linked = tmp_path / "linked.xlsx"
    with zipfile.ZipFile(linked, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return linked


@pytest.mark.libreoffice
def test_a_workbook_linking_outside_is_refused_and_libreoffice_would_fetch_nothing(tmp_path, soffice):
    listener = _Listener()
    try:
        url = f"http://127.0.0.1:{listener.port}/image.png"
        linked = _image_linked_by_url(tmp_path, url)
        with pytest.raises(VerifyError, match=rf"^{re.escape(str(linked))}: refused: xl/drawings/_rels/drawing1"
                                              rf"\.xml\.rels links to '{re.escape(url)}' outside the file"):
            verify(linked)
        # Had the check missed it, LibreOffice itself fetches nothing: its profile sends every
        # protocol to a proxy no connection reaches. (Without that setting it sent OPTIONS and
        # GETs to this very port.)
        shutil.rmtree(recalculate(linked).parent)
        assert listener.seen == []
    finally:
        listener.close()


@pytest.mark.parametrize(("formula", "called"), [('=WEBSERVICE("http://127.0.0.1:9/")', "WEBSERVICE"),
                                                 ('=RTD("x",,"y")', "RTD")])
def test_a_formula_that_calls_out_is_refused_before_any_engine_starts(tmp_path, monkeypatch, formula, called):
    import xlsxwriter

    from titanic_reg.sheets import recalc as recalc_mod

    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: pytest.fail("LibreOffice was started"))
    path = tmp_path / "calls.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        wb.add_worksheet("Data").write_formula("A1", formula, None, 0)
    with pytest.raises(VerifyError, match=rf"refused: Data!A1 calls {called}, which reaches outside the file"):
        verify(path)


def test_a_data_connection_is_refused(tmp_path, good_xlsx):
    with zipfile.ZipFile(good_xlsx) as zin, zipfile.ZipFile(tmp_path / "c.xlsx", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/connections.xml", b'<connections xmlns="http://schemas.openxmlformats.org/'
                                            b'spreadsheetml/2006/main"/>')
    with pytest.raises(VerifyError, match="refused: it holds xl/connections.xml, a connection to data outside"):
        verify(tmp_path / "c.xlsx")


# --------------------------------------------------------------------------- bounded memory and time


def _many_elements(tmp_path, good_xlsx, n, inside_row=False):
    """good_xlsx with n small elements added to its first sheet (random attributes keep the
    zip ratio inside the limits): outside any row, or all in one row."""
    import random

    rng = random.Random(0)
    filler = "".join(f'<x i="{rng.getrandbits(40)}"/>' for _ in range(n))
    with zipfile.ZipFile(good_xlsx) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    sheet = next(name for name in parts if name.startswith("xl/worksheets/sheet"))
    xml = parts[sheet].decode()
    if inside_row:
        xml = xml.replace("</row>", filler + "</row>", 1)
    else:
        xml = xml.replace("<sheetData>", "<sheetData>" + filler, 1)
    parts[sheet] = xml.encode()
    path = tmp_path / f"many-{n}-{inside_row}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    return path


@pytest.mark.slow
def test_millions_of_small_elements_are_read_in_bounded_memory(tmp_path, good_xlsx):
    """2.5 million elements outside the rows (48 MB unpacked): each is dropped as it ends, so
    the reading process stays far below what keeping them would take (over 400 MB)."""
    path = _many_elements(tmp_path, good_xlsx, 2_500_000)
    assert path.stat().st_size < 30 * 1024 * 1024
    # VmHWM, this process's own peak (ru_maxrss would carry pytest's over from the fork).
    code = ("import re, sys; from titanic_reg.sheets.verify import read_formula_cells; "
            "peak = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "before = peak(); cells = read_formula_cells(sys.argv[1]); "
            "print(sum(map(len, cells.values())), before, peak())")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert out.returncode == 0, out.stderr
    cells, before_kb, peak_kb = map(int, out.stdout.split())
    assert cells == sum(map(len, read_formula_cells(good_xlsx).values()))
    assert peak_kb - before_kb < 150 * 1024, (before_kb, peak_kb)


@pytest.mark.slow
def test_a_row_of_too_many_elements_is_refused(tmp_path, good_xlsx):
    path = _many_elements(tmp_path, good_xlsx, 300_000, inside_row=True)
    with pytest.raises(VerifyError, match=r"refused: a <row> of xl/worksheets/sheet1\.xml holds more than "
                                          r"262,144 elements"):
        read_formula_cells(path)


def test_reading_counts_against_the_timeout(tmp_path, good_xlsx, monkeypatch):
    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: pytest.fail("LibreOffice was started"))
    path = _many_elements(tmp_path, good_xlsx, 200_000)
    with pytest.raises(VerifyError, match="took longer than the time allowed"):
        verify(path, timeout=0.001)


# --------------------------------------------------------------------------- issue 21: what the engines see and reach


def _print_titles_workbook(path, extra=None):
    """A small workbook with print titles: enough for LibreOffice to look its printers up
    (CUPS, port 631) when nothing stops it. extra: {cell: formula} cached as ""."""
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("Data")
        ws.write_number("A1", 2)
        ws.write_formula("B1", "=A1*3", None, 6)
        for cell, formula in (extra or {}).items():
            ws.write_formula(cell, formula, None, "")
        ws.repeat_rows(0)
    return path


@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ["libreoffice", "gnumeric"])
def test_the_engine_sees_none_of_the_callers_environment(tmp_path, monkeypatch, engine):
    """Recalculated directly (verify would refuse the file first): GETENV gave the caller's
    secret back in Gnumeric, and CELL("filename") gives the path in both engines, which is
    why verify refuses both; the environment itself no longer reaches the engine."""
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    monkeypatch.setenv("TITANIC_REG_TEST_SECRET", "s3cr3t-t0ken")
    path = _print_titles_workbook(tmp_path / "env.xlsx", {"C1": '=GETENV("TITANIC_REG_TEST_SECRET")',
                                                         "D1": '=GETENV("HOME")'})
    out = recalculate(path, engine=engine)
    try:
        values, _app = verify_mod._read_values(out, {"Data": {(0, 1), (0, 2), (0, 3)}})
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    assert values["Data"][(0, 1)] == 6.0  # it did recalculate
    assert "s3cr3t" not in str(values["Data"][(0, 2)])
    assert str(values["Data"][(0, 3)]) != os.environ.get("HOME")
    with pytest.raises(VerifyError, match=r"refused: Data!C1 calls GETENV, which reads this machine"):
        verify(path, engine=engine)


def _connections(trace: Path) -> list[str]:
    """connect() and sendto() calls to an address on a network (IPv4, IPv6) in strace's log."""
    return [line for line in trace.read_text().splitlines()
            if ("connect(" in line or "sendto(" in line or "sendmsg(" in line) and "AF_INET" in line]


@pytest.mark.libreoffice
@pytest.mark.parametrize("engine", ["libreoffice", "gnumeric"])
def test_verify_connects_to_nothing_on_any_network(tmp_path, monkeypatch, engine):
    """Every process the engine starts is watched with `strace -f` (scripts/test.sh installs
    strace): not one connect() or sendto() to an IPv4 or IPv6 address, whatever the port.
    Before: LibreOffice asked CUPS for its printers at 127.0.0.1:631 and [::1]:631 on any
    workbook with print titles, as the project's own have."""
    from tests.conftest import engine_or_fail

    engine_or_fail(engine)
    strace = shutil.which("strace")
    if strace is None:
        pytest.fail("strace is needed to watch the engine's connections: apt-get install -y strace")
    trace = tmp_path / "strace.log"
    real = subprocess.Popen

    def traced(cmd, *args, **kw):
        return real([strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,execve", "-o", str(trace), *cmd],
                    *args, **kw)

    monkeypatch.setattr(recalc_mod.subprocess, "Popen", traced)
    report = verify(_print_titles_workbook(tmp_path / "print.xlsx"), engine=engine)
    assert report.ok and report.cells_checked == 1, report.summary()
    log = trace.read_text()
    binary = "soffice.bin" if engine == "libreoffice" else "ssconvert"
    assert f'execve("' in log and binary in log  # the watch saw the engine itself start
    assert _connections(trace) == []


@pytest.mark.parametrize(("option", "value"), [("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "1e300"),
                                               ("--timeout", "0"), ("--timeout", "86401"), ("--tol", "nan"),
                                               ("--tol", "inf"), ("--tol", "-1e-9")])
def test_verify_refuses_a_number_that_is_no_limit_in_one_line(good_xlsx, monkeypatch, option, value):
    """nan, inf and 1e300 passed click's FloatRange: tracebacks (OverflowError from the clock),
    or 'largest difference 0 ... FAILED' on a correct workbook with --tol nan."""
    from click.testing import CliRunner

    from titanic_reg.cli import main

    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: pytest.fail("LibreOffice was started"))
    result = CliRunner().invoke(main, ["verify", str(good_xlsx), option, value])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # click's usage error, no traceback
    assert f"Invalid value for '{option}'" in result.stderr and "is not a finite number" in result.stderr
    with pytest.raises(ValueError, match="finite"):
        verify(good_xlsx, **{option.lstrip("-"): float(value)})


def _file_size_limit(limit):
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_temporary_folder_is_one_error_line(good_xlsx, tmp_path):
    """TMPDIR where no file may grow past 1,000 bytes (RLIMIT_FSIZE: a full disk without mounting
    one): the private copy cannot be written. Before: an OSError traceback."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run([sys.executable, "-c", "import cli; cli.run()", "verify", str(good_xlsx)],
                          cwd=Path(__file__).resolve().parents[1], env={**os.environ, "TMPDIR": str(scratch)},
                          preexec_fn=_file_size_limit(1000), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [f"error: {good_xlsx}: cannot work in the temporary folder {scratch} "
                                        "(File too large)"], proc.stderr
    assert list(scratch.iterdir()) == []


def test_a_full_temporary_folder_while_the_engine_is_prepared_is_one_error(good_xlsx, monkeypatch):
    """The copy for the engine fails with ENOSPC (monkeypatched: the point where it fails)."""
    import errno

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(recalc_mod.shutil, "copyfile", full)
    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: "/bin/true")
    with pytest.raises(VerifyError, match=r"good\.xlsx: cannot work in the temporary folder .* \(No space left on "
                                          r"device\)$"):
        verify(good_xlsx)


def test_many_large_relationship_parts_count_against_the_timeout(tmp_path, good_xlsx, monkeypatch):
    """Relationship parts are read whole, each under 16 MB: 125 of them took 150 s at --timeout 5,
    as none of that reading looked at the clock. Here 40 of 2 MB each against a deadline already
    past: refused at the first, before any engine."""
    import random

    monkeypatch.setattr(recalc_mod, "find_soffice", lambda: pytest.fail("LibreOffice was started"))
    rng = random.Random(0)
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="r{i}" Type="t{rng.getrandbits(60)}" Target="x"/>' for i in range(25_000))
            + "</Relationships>").encode()
    path = tmp_path / "rels.xlsx"
    shutil.copyfile(good_xlsx, path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        for i in range(40):
            z.writestr(f"xl/extra{i}/_rels/part.xml.rels", rels)
    calls = []
    real = verify_mod._parse_small
    monkeypatch.setattr(verify_mod, "_parse_small", lambda *a, **kw: calls.append(a[1]) or real(*a, **kw))
    started = time.monotonic
    monkeypatch.setattr(verify_mod.time, "monotonic", lambda: started() + (10 if len(calls) > 2 else 0))
    with pytest.raises(VerifyError, match=r"reading .* took longer than the time allowed"):
        verify(path, timeout=5)
    assert len(calls) <= 4
