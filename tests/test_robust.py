"""Nothing breaks, nothing is lost: text in the workbook, Ctrl-C at any moment,
the same run twice, and `verify` on workbooks nobody should trust.

The catalogue of bad and awkward inputs is tests/test_catalogue.py. The runs
here that are about the process itself (signals, bit-for-bit repeats) start the
CLI as a subprocess; the rest use click's CliRunner (tests/test_cli.py's `run`).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.test_cli import TRAIN, edited, one_line_error, run
from tests.helpers import NO_BASELINES

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ["compare.png", "loss.png", "metrics.json", "recipe.toml", "submission.csv", "titanic.xlsx"]
# Quick but complete runs: every output, the workbook included.
RUN = ["--epochs", "50", "--restarts", "8", *NO_BASELINES]


def cli_process(*args, **kw):
    return subprocess.Popen([sys.executable, "-c", "from titanic_reg import cli; cli.main()", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def figures(value):
    """metrics.json without its timings: what must repeat exactly."""
    if isinstance(value, dict):
        return {k: figures(v) for k, v in value.items() if k not in ("fit_seconds", "predict_ms_per_1000")}
    if isinstance(value, list):
        return [figures(v) for v in value]
    return value


def snapshot(out: Path) -> dict:
    """Every file of an output folder: metrics.json as figures, the others as bytes."""
    files = {}
    for name in sorted(os.listdir(out)):
        data = (out / name).read_bytes()
        files[name] = figures(json.loads(data)) if name == "metrics.json" else data
        if name == "compare.png":  # its points are fit times, which differ between runs: a PNG, no more
            files[name] = data[:8] == b"\x89PNG\r\n\x1a\n"
    return files


# --------------------------------------------------------------------------- text in the workbook
# (Names like formulas, and control characters in a CSV: tests/test_catalogue.py, formula-name and
# control-characters.)


def test_the_writer_replaces_what_xml_cannot_hold(tmp_path):
    """Lone surrogates cannot come from a CSV file (decoding never makes them), but a
    caller of the Python API can pass any str: the workbook is still written."""
    import titanic_reg
    from titanic_reg.sheets.workbook import write_workbook
    from titanic_reg.errors import InputWarning

    small = edited(tmp_path, TRAIN, "train.csv", lambda rows: rows.__delitem__(slice(60, None)))
    result = titanic_reg.fit(small, valid_pct=0, epochs=2, restarts=1, descent_steps=0, baselines=None)
    names = result.data.show["Name"]
    names[0] = "Lone \ud800 surrogate"
    names[1] = "Nul\x00 and \x1f unit separator"
    names[2] = "\udfff"
    with pytest.warns(InputWarning) as caught:
        write_workbook(result, tmp_path / "w.xlsx")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    assert messages[0].startswith("Data!") and "U+D800" in messages[0] and "U+FFFD" in messages[0]
    assert "U+0000, U+001F" in messages[1]

    ws = openpyxl.load_workbook(tmp_path / "w.xlsx")["Data"]
    name_col = next(c.column for c in ws[5] if c.value == "Name")
    assert [ws.cell(r, name_col).value for r in (6, 7, 8)] == [
        "Lone \ufffd surrogate", "Nul and  unit separator", "\ufffd"]


# --------------------------------------------------------------------------- interrupted runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three complete runs at once: the old outputs (seed 1), and the new ones (seed 2) twice."""
    base = tmp_path_factory.mktemp("runs")
    procs = {}
    for name, seed in (("old", 1), ("new", 2), ("again", 2)):
        procs[name] = (cli_process("fit", TRAIN, "--seed", seed, *RUN, "--out", base / name), base / name)
    done = {}
    for name, (proc, out) in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert sorted(os.listdir(out)) == OUTPUTS
        done[name] = out
    return done


@pytest.mark.slow
def test_same_inputs_and_seed_give_the_same_outputs(runs):
    new, again = snapshot(runs["new"]), snapshot(runs["again"])
    assert new["metrics.json"] == again["metrics.json"]  # every figure, parameters bit for bit
    for model in ("linear", "two_relu"):
        assert new["metrics.json"]["models"][model]["params"] == again["metrics.json"]["models"][model]["params"]
    for name in ("submission.csv", "loss.png", "titanic.xlsx"):
        assert new[name] == again[name], name
    assert new["metrics.json"] != snapshot(runs["old"])["metrics.json"]  # another seed, other figures

    # The workbook's bytes are stable because nothing in it comes from the clock: the
    # zip members' times are fixed, docProps' dates come from the input's hash, and
    # fit timings are left to metrics.json (the Compare sheet says so).
    from types import SimpleNamespace

    from titanic_reg.sheets.workbook import _stamp

    with zipfile.ZipFile(runs["new"] / "titanic.xlsx") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}  # XlsxWriter's, in memory
        core = zf.read("docProps/core.xml").decode()
    sha = json.loads((runs["new"] / "metrics.json").read_text())["settings"]["sha256"]["train"]
    stamp = _stamp(SimpleNamespace(provenance={"sha256": {"train": sha}})).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>' in core
    assert f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>' in core
    ws = openpyxl.load_workbook(runs["new"] / "titanic.xlsx")["Compare"]
    assert "see metrics.json" in [c.value for row in ws.iter_rows() for c in row]


def _wait_for(predicate, proc, limit=60.0):
    t0 = time.monotonic()
    while not predicate():
        if proc.poll() is not None or time.monotonic() - t0 > limit:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture(scope="module")
def solo_seconds(tmp_path_factory):
    """How long one whole run takes here, alone: the interrupts below land at shares of it,
    so that they fall inside the run however fast the machine is."""
    t0 = time.monotonic()
    proc = cli_process("fit", TRAIN, "--seed", 2, *RUN, "--out", tmp_path_factory.mktemp("solo") / "out")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return time.monotonic() - t0


ATTEMPTS = 4  # a run that finished before its signal proves nothing: tried again, sooner


def _interrupted(runs, out, moment, share, signum=signal.SIGINT):
    """One run into a copy of the old outputs, sent `signum` at `moment`: (exit status, stderr),
    or None when the run ended first (a loaded machine can stall the sender that long)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(runs["old"], out)
    inode = (out / "titanic.xlsx").stat().st_ino
    proc = cli_process("fit", TRAIN, "--seed", 2, *RUN, "--out", out)
    if moment == "workbook":  # once the workbook is being written under its temporary name
        _wait_for(lambda: any(n.startswith(".titanic.xlsx.titanic-reg-tmp.") for n in os.listdir(out)), proc)
    elif moment == "renamed":  # once the new workbook is in place (renamed last)
        _wait_for(lambda: (out / "titanic.xlsx").stat().st_ino != inode, proc, limit=120)
    else:
        time.sleep(share)
    if proc.poll() is None:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # ended before the signal: a whole new set, as any run
        assert snapshot(out) == snapshot(runs["new"]), err
        return None
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("moment", [0.1, 0.3, 0.5, 0.7, "workbook", "renamed"])
def test_interrupted_run_leaves_old_or_new_files_and_no_temporary_ones(runs, solo_seconds, tmp_path, moment):
    """Ctrl-C in the imports, the training, the writing, and just after the renames: at a share
    of a measured run, or at a point the run shows in its folder. A run that ends before its
    signal arrives is tried again, the share halved (the points are waited for again)."""
    out = tmp_path / "out"
    old, new = snapshot(runs["old"]), snapshot(runs["new"])
    for attempt in range(ATTEMPTS):
        share = moment * solo_seconds / 2**attempt if isinstance(moment, float) else None
        outcome = _interrupted(runs, out, moment, share)
        if outcome is not None:
            break
    else:
        pytest.fail(f"{ATTEMPTS} runs all ended before their Ctrl-C arrived")
    code, err = outcome
    assert "Traceback" not in err, err
    # 130 when the command caught it; killed by SIGINT (the shell's 130 too) when it
    # came after the command, while Python shut down.
    assert code in (130, -signal.SIGINT), (code, err)
    if code == 130:
        assert err.strip().splitlines()[-1] == "interrupted", err
    assert sorted(os.listdir(out)) == OUTPUTS  # nothing half-written, no temporary files
    after = snapshot(out)
    assert after in (old, new), {name: after[name] == old[name] for name in OUTPUTS}
    if moment == "workbook":
        assert after == old
    if moment == "renamed":
        assert after == new


@pytest.mark.slow
def test_interrupted_run_into_a_new_folder_leaves_no_folder(tmp_path):
    proc = cli_process("fit", TRAIN, *RUN, "--out", tmp_path / "a" / "out")
    assert _wait_for(lambda: (tmp_path / "a" / "out").exists(), proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # Either the run was cut short and left no folder, or the signal came after the
    # outputs were complete (a busy machine can be that slow): never anything between.
    if os.listdir(tmp_path):
        out = tmp_path / "a" / "out"
        assert sorted(os.listdir(out)) == OUTPUTS
        json.loads((out / "metrics.json").read_text())


# --------------------------------------------------------------------------- verify: untrusted workbooks


def _small_workbook(path, cached=6):
    import xlsxwriter

    with xlsxwriter.Workbook(path) as wb:
        ws = wb.add_worksheet("Data")
        ws.write_number("A1", 2)
        ws.write_formula("B1", "=A1*3", None, cached)
    return path


def _with_member(src, dst, name, data):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info, zin.read(info))
        zout.writestr(name, data)
    return dst


BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b"<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&lol9;</t></is></c></row>"
                    b"</sheetData></worksheet>")


def _renamed_csv(tmp_path, monkeypatch):
    path = tmp_path / "titanic.xlsx"
    shutil.copyfile(TRAIN, path)
    return path


def _zip_bomb(tmp_path, monkeypatch):
    good = _small_workbook(tmp_path / "good.xlsx")
    return _with_member(good, tmp_path / "bomb.xlsx", "xl/worksheets/sheet2.xml", b"<a/>" + b" " * (8 << 20))


def _over_size(tmp_path, monkeypatch):
    from titanic_reg.sheets import verify as verify_mod

    monkeypatch.setattr(verify_mod, "MAX_FILE_BYTES", 1000)
    return _small_workbook(tmp_path / "big.xlsx")


def _billion_laughs(tmp_path, monkeypatch):
    good = _small_workbook(tmp_path / "good.xlsx")
    return _with_member(good, tmp_path / "laughs.xlsx", "xl/worksheets/sheet1.xml", BILLION_LAUGHS)


def _linked_image(tmp_path, monkeypatch):
    from tests.test_verify import _image_linked_by_url

    return _image_linked_by_url(tmp_path, "http://127.0.0.1:9/image.png")


def _connection(tmp_path, monkeypatch):
    good = _small_workbook(tmp_path / "good.xlsx")
    return _with_member(good, tmp_path / "connected.xlsx", "xl/connections.xml",
                        b'<connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>')


def _webservice(tmp_path, monkeypatch):
    import xlsxwriter

    path = tmp_path / "calls.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        wb.add_worksheet("Data").write_formula("B2", '=WEBSERVICE("http://127.0.0.1:9/")', None, 0)
    return path


def _long_row(tmp_path, monkeypatch):
    from titanic_reg.sheets import verify as verify_mod

    monkeypatch.setattr(verify_mod, "MAX_ITEM_ELEMENTS", 100)
    good = _small_workbook(tmp_path / "good.xlsx")
    row = b"".join(b'<c r="%s1"><v>1</v></c>' % name.encode() for name in
                   [a + b for a in "ABCD" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
    return _with_member(good, tmp_path / "long.xlsx", "xl/worksheets/sheet1.xml",
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                        b'<row r="1">' + row + b"</row></sheetData></worksheet>")


def _negative_row(tmp_path, monkeypatch):
    """A sheet whose rows have no cell references, its row numbered -5: read as row -5, its
    formula was reported as cell A-5 (issue 21)."""
    good = _small_workbook(tmp_path / "good.xlsx")
    return _with_member(good, tmp_path / "negative.xlsx", "xl/worksheets/sheet1.xml",
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                        b'<row r="-5"><c><v>2</v></c><c><f>A1*3</f><v>6</v></c></row></sheetData></worksheet>')


def _formula(formula, name="calls.xlsx"):
    """A workbook whose Data!B2 holds `formula` (cached 0)."""
    def make(tmp_path, monkeypatch):
        import xlsxwriter

        path = tmp_path / name
        with xlsxwriter.Workbook(path) as wb:
            ws = wb.add_worksheet("Data")
            ws.write_number("A1", 2)
            ws.write_formula("B2", formula, None, 0)
        return path
    return make


def _edited(member, edit, name="edited.xlsx"):
    """_small_workbook with one member's bytes passed through edit(bytes) -> bytes."""
    def make(tmp_path, monkeypatch):
        good = _small_workbook(tmp_path / "good.xlsx")
        with zipfile.ZipFile(good) as z:
            data = z.read(member)
        return _with_member(good, tmp_path / name, member, edit(data))
    return make


def _renamed_part(part, content_type, rel_type, body):
    """A part under a name no rule knows, declared by its content type and related from the
    workbook by its relationship type: what Excel and LibreOffice go by."""
    def make(tmp_path, monkeypatch):
        good = _small_workbook(tmp_path / "good.xlsx")
        with zipfile.ZipFile(good) as z:
            types, rels = z.read("[Content_Types].xml"), z.read("xl/_rels/workbook.xml.rels")
        step = _with_member(good, tmp_path / "step.xlsx", part, body)
        if content_type:
            types = types.replace(b"</Types>", b'<Override PartName="/%s" ContentType="%s"/></Types>'
                                  % (part.encode(), content_type.encode()))
        step = _with_member(step, tmp_path / "step2.xlsx", "[Content_Types].xml", types)
        if rel_type:
            rels = rels.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="%s" Target="%s"/>'
                                b"</Relationships>" % (rel_type.encode(), part.removeprefix("xl/").encode()))
        return _with_member(step, tmp_path / "renamed.xlsx", "xl/_rels/workbook.xml.rels", rels)
    return make


_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _two_sheets_one_name(tmp_path, monkeypatch):
    """Data twice: the first caches 999 for =A1*2 (every reader tried read 999); Excel would
    refuse to open it, the engines rename or drop one."""
    import xlsxwriter

    path = tmp_path / "twins.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        for cached in (999, 4):
            ws = wb.add_worksheet(f"S{cached}")
            ws.write_number("A1", 2)
            ws.write_formula("B1", "=A1*2", None, cached)
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml")
    return _with_member(path, tmp_path / "twins2.xlsx", "xl/workbook.xml",
                        book.replace(b'name="S999"', b'name="Data"').replace(b'name="S4"', b'name="DATA"'))


def _data_table(tmp_path, monkeypatch):
    import xlsxwriter

    path = tmp_path / "table.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        ws = wb.add_worksheet("Data")
        ws.write_number("A1", 2)
        ws.write_formula("B1", "=A1*3", None, 6)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    table = (b'<row r="3"><c r="A3"><v>5</v></c><c r="B3"><f t="dataTable" ref="B3:B4" dt2D="0" dtr="0" r1="A1"/>'
             b'<v>999</v></c></row><row r="4"><c r="A4"><v>7</v></c><c r="B4"><v>999</v></c></row></sheetData>')
    return _with_member(path, tmp_path / "datatable.xlsx", "xl/worksheets/sheet1.xml",
                        sheet.replace(b"</sheetData>", table))


def _xml_edit(old, new):
    def edit(data):
        assert old in data, (old, data[:400])
        return data.replace(old, new)
    return edit


UNTRUSTED = {
    # name: (make the file, words of the one-line refusal)
    "an image linked by URL": (_linked_image, ["refused: xl/drawings/_rels/drawing1.xml.rels links to "
                                               "'http://127.0.0.1:9/image.png' outside the file"]),
    "a data connection": (_connection, ["refused: it holds xl/connections.xml"]),
    "a formula calling WEBSERVICE": (_webservice, ["refused: Data!B2 calls WEBSERVICE, which reaches outside"]),
    "a row of too many elements": (_long_row, ["refused: a <row> of xl/worksheets/sheet1.xml holds more than 100 "
                                               "elements"]),
    "a CSV renamed .xlsx": (_renamed_csv, ["not an .xlsx workbook (not a zip archive)"]),
    "a row numbered -5": (_negative_row, ["refused: a <row> of xl/worksheets/sheet1.xml has r='-5', not a row "
                                          "number from 1 to 1,048,576"]),
    "a zip bomb": (_zip_bomb, ["zip bomb", "sheet2.xml", "limit 200:1"]),
    "over the size limit": (_over_size, ["is larger than the 1,000 bytes limit"]),
    "billion laughs in a sheet": (_billion_laughs, ["xl/worksheets/sheet1.xml declares a DTD", "billion laughs"]),
    # Issue 21: what reads the machine, names with prefixes, parts known by type, lying sheets, huge work.
    "GETENV (Gnumeric hands it the environment)": (_formula('=GETENV("HOME")'),
                                                    ["refused: Data!B2 calls GETENV, which reads this machine"]),
    "CELL(\"filename\") (the temporary path)": (_formula('=CELL("filename")'),
                                                ["refused: Data!B2 calls CELL, which reads this machine"]),
    "INFO": (_formula('=INFO("osversion")'), ["refused: Data!B2 calls INFO, which reads this machine"]),
    "_xlfn.WEBSERVICE, as LibreOffice evaluates it": (
        _formula('=_xlfn.WEBSERVICE("http://127.0.0.1:9/")'),
        ["refused: Data!B2 calls _XLFN.WEBSERVICE, which reaches outside"]),
    "a space before the parenthesis": (_formula('=_xlfn.WEBSERVICE ("http://127.0.0.1:9/")'),
                                       ["refused: Data!B2 calls _XLFN.WEBSERVICE"]),
    "GETENV in a defined name": (
        _edited("xl/workbook.xml", _xml_edit(b"</workbook>", b'<definedNames><definedName name="tok">'
                                             b'_xlfn.GETENV("TOKEN")</definedName></definedNames></workbook>')),
        ["refused: the defined name tok calls _XLFN.GETENV, which reads this machine"]),
    "GETENV in a conditional format": (
        _edited("xl/worksheets/sheet1.xml", _xml_edit(b"</sheetData>", b'</sheetData><conditionalFormatting sqref="A1">'
                                                      b'<cfRule type="expression" priority="1"><formula>LEN(GETENV("T'
                                                      b'OKEN"))&gt;0</formula></cfRule></conditionalFormatting>')),
        ["refused: a conditional format or data validation of xl/worksheets/sheet1.xml calls GETENV"]),
    "a data connection under another name": (
        _renamed_part("xl/c.xml", f"{_SML}.connections+xml", f"{_RELS}/connections",
                      b'<connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'),
        ["refused: it holds xl/c.xml, a connection to data outside the file"]),
    "a web query under another name": (
        _renamed_part("xl/qt.xml", f"{_SML}.queryTable+xml", None,
                      b'<queryTable xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" name="q" '
                      b'connectionId="1"/>'),
        ["refused: it holds xl/qt.xml, a web or database query"]),
    "a connection known only by its relationship": (
        _renamed_part("xl/c.xml", None, f"{_RELS}/connections", b"<connections/>"),
        ["refused: xl/_rels/workbook.xml.rels leads to 'c.xml', a connection to data outside the file"]),
    "a macro sheet": (
        _renamed_part("xl/m.xml", None, "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
                      b"<worksheet/>"),
        ["refused: xl/_rels/workbook.xml.rels leads to 'm.xml', an Excel 4 macro sheet"]),
    "two sheets of one name": (_two_sheets_one_name, ["refused: two sheets are named 'Data' and 'DATA'"]),
    "a data table": (_data_table, ["refused: xl/worksheets/sheet1.xml cell B3 holds a data table"]),
    "a percent-escaped sheet part": (
        _edited("xl/_rels/workbook.xml.rels", _xml_edit(b'Target="worksheets/sheet1.xml"',
                                                        b'Target="worksheets/sheet%31.xml"')),
        ["refused: sheet 'Data' is stored as 'xl/worksheets/sheet%31.xml', a name with percent-escapes"]),
    "a sheet whose part is missing": (
        _edited("xl/_rels/workbook.xml.rels", _xml_edit(b'Target="worksheets/sheet1.xml"',
                                                        b'Target="worksheets/elsewhere.xml"')),
        ["refused: sheet 'Data' is stored as 'xl/worksheets/elsewhere.xml', which is not in the file"]),
    "no formula at all": (_edited("xl/worksheets/sheet1.xml", _xml_edit(b"<f>A1*3</f>", b"")),
                          ["holds no formula cell, so there is nothing to verify"]),
    "an array formula over four million cells": (
        _edited("xl/worksheets/sheet1.xml", _xml_edit(b"<f>A1*3</f>", b'<f t="array" ref="B1:E1000000">A1*3</f>')),
        ["refused: xl/worksheets/sheet1.xml cell B1 holds an array formula over B1:E1000000, 4,000,000 cells "
         "(limit 100,000)"]),
    "a range of four whole columns": (_formula("=SUMPRODUCT(A:D*1)"),
                                      ["refused: xl/worksheets/sheet1.xml cell B2 names a range of 4,194,304 cells"]),
}


@pytest.mark.parametrize("case", UNTRUSTED)
def test_verify_refuses_before_libreoffice_starts(tmp_path, monkeypatch, case):
    from titanic_reg.sheets import recalc

    def no(*args, **kw):
        raise AssertionError("LibreOffice must not see this file")

    monkeypatch.setattr(recalc, "find_soffice", no)
    make, words = UNTRUSTED[case]
    path = make(tmp_path, monkeypatch)
    result = run("verify", path)  # the laughs are refused with the DTD, never expanded
    assert result.exit_code == 1, result.stdout + result.stderr
    line = one_line_error(result)
    for word in [str(path), *words]:
        assert word in line, (word, line)


@pytest.mark.libreoffice
def test_verify_a_workbook_with_a_macro_part_never_runs_it(tmp_path, soffice):
    """LibreOffice runs with macro execution off; the summary says the macros are there."""
    from titanic_reg.sheets.recalc import _PROFILE_XCU

    assert '"DisableMacrosExecution" oor:op="fuse"><value>true' in _PROFILE_XCU
    assert '"MacroSecurityLevel" oor:op="fuse"><value>3' in _PROFILE_XCU
    good = _small_workbook(tmp_path / "good.xlsx")
    # An OLE header and nothing else: what matters is the part's name and type.
    path = _with_member(good, tmp_path / "macro.xlsx", "xl/vbaProject.bin",
                        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    result = run("verify", path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "note: xl/vbaProject.bin holds macros; LibreOffice ran with macro execution disabled" in result.stdout
    assert "OK" in result.stdout


@pytest.mark.libreoffice
def test_verify_stops_a_workbook_that_takes_too_long(tmp_path, soffice):
    path = _small_workbook(tmp_path / "slow.xlsx")
    result = run("verify", path, "--timeout", "0.05")  # LibreOffice alone needs about a second
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "did not finish recalculating slow.xlsx within 0.05 s (killed)" in line
    assert "larger timeout" in line


def _console_script():
    return str(Path(sys.executable).with_name("titanic-reg"))


@pytest.mark.slow
@pytest.mark.parametrize("stdout", ["closed", "full", "pipe closed early"])
def test_a_summary_that_cannot_be_shown_leaves_the_outputs_and_says_so(tmp_path, stdout):
    """The outputs are written before the summary is printed. Closed stdout: exit 0 (no output
    was asked for); a reader that stops (`| head -1`): exit 0; a full one: one error line,
    exit 1. Never a traceback (before: AttributeError, OSError from rich, exit 1 from click)."""
    out = tmp_path / "out"
    cmd = [_console_script(), "fit", TRAIN, "--no-workbook", "--epochs", "5", "--restarts", "2", *NO_BASELINES,
           "--out", str(out)]
    if stdout == "closed":
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              pass_fds=(), preexec_fn=lambda: os.close(1))
    elif stdout == "full":
        with open("/dev/full", "w") as full:
            proc = subprocess.run(cmd, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True)
    else:
        reader, writer = os.pipe()
        os.close(reader)  # the reader is gone before anything is printed: every write breaks the pipe
        proc = subprocess.run(cmd, cwd=ROOT, stdout=writer, stderr=subprocess.PIPE, text=True)
        os.close(writer)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["compare.png", "loss.png", "metrics.json", "recipe.toml",
                                                     "submission.csv"]
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("warning: ")]
    if stdout == "full":
        assert proc.returncode == 1
        assert errors == ["error: cannot write to standard output (No space left on device); the outputs were written"]
    else:
        assert proc.returncode == 0 and errors == [], proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["fit", TRAIN, "--epochs", "5", "--restarts", "2", "--descent-steps", "2",
                                      *NO_BASELINES],
                                     ["lesson", "quad"]])
def test_a_home_matplotlib_cannot_write_to_prints_nothing_of_its_own(tmp_path, command):
    """HOME a file: matplotlib printed "mkdir -p failed ..." and a paragraph on stderr. Only
    `warning:` and `error:` lines may reach it, and no temporary folder may stay behind."""
    home = tmp_path / "home"
    home.write_text("not a folder")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(scratch)}
    env.pop("MPLCONFIGDIR", None)
    env.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.run([_console_script(), *map(str, command), "--out", str(tmp_path / "out")], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert all(line.startswith(("warning: ", "error: ")) for line in proc.stderr.splitlines()), proc.stderr
    assert not [p.name for p in scratch.iterdir() if "matplotlib" in p.name]


@pytest.mark.slow
def test_outputs_get_ordinary_permissions_whatever_was_there(tmp_path):
    """A symbolic link in --out to a setuid, setgid file passed that mode on to the new output;
    an existing output with those bits kept them. Outputs are data: rw-r--r-- under umask 022."""
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    os.chmod(target, 0o6755)
    (out / "metrics.json").symlink_to(target)
    (out / "submission.csv").write_text("x")
    os.chmod(out / "submission.csv", 0o4750)
    old = os.umask(0o022)
    try:
        proc = cli_process("fit", TRAIN, "--no-workbook", "--epochs", "5", "--restarts", "2", *NO_BASELINES,
                           "--out", out)
        _, err = proc.communicate(timeout=300)
    finally:
        os.umask(old)
    assert proc.returncode == 0, err
    metrics = (out / "metrics.json").lstat()
    assert stat.S_ISREG(metrics.st_mode) and stat.S_IMODE(metrics.st_mode) == 0o644
    assert stat.S_IMODE((out / "submission.csv").stat().st_mode) == 0o750  # its own rwx kept, setuid not
    assert target.read_text() == "{}" and stat.S_IMODE(target.stat().st_mode) == 0o6755  # the target untouched


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "said"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                      (signal.SIGHUP, 129, "hung up (SIGHUP)")])
def test_sigterm_and_sighup_while_writing_leave_the_old_outputs_and_no_temporary_files(runs, tmp_path, signum, code,
                                                                                        said):
    """Sent once the workbook is being written under its temporary name (a point the run
    shows, not a time): the temporary files went nowhere before, as no handler was installed."""
    out = tmp_path / "out"
    old = snapshot(runs["old"])
    for _ in range(ATTEMPTS):
        outcome = _interrupted(runs, out, "workbook", None, signum)
        if outcome is not None:
            break
    else:
        pytest.fail(f"{ATTEMPTS} runs all ended before their signal arrived")
    returncode, err = outcome
    assert "Traceback" not in err, err
    if returncode == code:
        assert err.strip().splitlines()[-1] == said, err
        assert snapshot(out) == old
    else:  # the signal came after the last rename, as Python shut down: the new outputs, whole
        assert returncode == -signum, (returncode, err)
    assert sorted(os.listdir(out)) == OUTPUTS


@pytest.mark.slow
def test_a_killed_runs_temporary_files_are_removed_by_the_next_and_a_live_ones_kept(tmp_path):
    """SIGKILL leaves temporary files nothing can remove then; the next run into the folder
    removes those whose writer is gone (the process id in their name) and no other."""
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that was ours and is gone
    stale = [out / f".metrics.json.titanic-reg-tmp.{dead.pid}.k1ll3d_x.json",
             out / f".submission.csv.titanic-reg-tmp.{dead.pid}.abcdefgh.csv"]
    live = out / f".metrics.json.titanic-reg-tmp.{os.getpid()}.w0rk1n_x.json"  # this test is alive: another run's, say
    for path in (*stale, live):
        path.write_text("partial")
    proc = cli_process("fit", TRAIN, "--no-workbook", "--epochs", "5", "--restarts", "2", *NO_BASELINES, "--out", out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert not any(p.exists() for p in stale) and live.read_text() == "partial"


def _file_size_limit(limit):
    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it then fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_a_full_disk_is_one_error_line_and_leaves_nothing_behind(runs, tmp_path):
    """Files may not grow past 200 kB (the workbook is larger): as a disk that fills up while
    the workbook is written. Before: XlsxWriter's FileCreateError traceback, and its
    temporary files, holding passenger rows, left in TMPDIR."""
    out = tmp_path / "out"
    shutil.copytree(runs["old"], out)
    old = snapshot(runs["old"])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run([_console_script(), "fit", TRAIN, "--seed", "2", *RUN, "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "TMPDIR": str(scratch)}, preexec_fn=_file_size_limit(200_000),
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("warning: ")]
    assert errors == [f"error: cannot write to {out}: File too large"], proc.stderr
    assert snapshot(out) == old and sorted(os.listdir(out)) == OUTPUTS
    assert list(scratch.iterdir()) == []


@pytest.mark.slow
def test_runs_into_one_folder_at_once_leave_one_runs_whole_set(tmp_path):
    """Four runs with different seeds, at once, into one --out: whatever order they end in,
    the folder holds one run's outputs, all of them (before: loss.png of one run beside the
    other files of another, once in three trials). Each run's own set, written alone, is
    the reference."""
    seeds = [11, 12, 13, 14]
    args = ["--epochs", "30", "--restarts", "4", "--descent-steps", "2", "--sheet-rows", "200", *NO_BASELINES]
    alone = {}
    for seed in seeds:
        proc = cli_process("fit", TRAIN, "--seed", seed, *args, "--out", tmp_path / f"alone{seed}")
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        alone[seed] = snapshot(tmp_path / f"alone{seed}")
    shared = tmp_path / "shared"
    procs = [cli_process("fit", TRAIN, "--seed", seed, *args, "--out", shared) for seed in seeds]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    together = snapshot(shared)
    assert sorted(os.listdir(shared)) == OUTPUTS
    assert any(together == ref for ref in alone.values()), "the folder mixes the outputs of several runs"


@pytest.mark.slow  # a whole command in a subprocess
@pytest.mark.parametrize("command", [["fit", TRAIN, "--no-workbook", "--epochs", "5", "--restarts", "2"],
                                     ["lesson", "relu"]])
def test_a_home_that_does_not_exist_is_not_created(tmp_path, command):
    """HOME=/nonexistent (Debian's home for system users), run as root: fit created
    /nonexistent/.config/matplotlib. Nothing may appear outside --out and the temporary folder."""
    missing = tmp_path / "nonexistent"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")}
    env["HOME"] = str(missing / "home")
    proc = subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, command), "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not missing.exists(), sorted(str(p) for p in missing.rglob("*"))
    assert sorted(os.listdir(tmp_path)) == ["out"]


# --------------------------------------------------------------------------- standard streams and a full disk (issue 21)


def _module_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, args)], cwd=ROOT, capture_output=True,
                          **kw)


@pytest.mark.slow  # a whole command in a subprocess
@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_a_stderr_that_cannot_be_written_to_does_not_stop_the_run(tmp_path, stderr):
    """Kaggle's test.csv gives a warning: its write to `2>/dev/full` raised, and the run ended
    with nothing written and exit 1. Full or closed, the work goes on and the exit status is the
    run's own (titanic_reg.process)."""
    out = tmp_path / "out"
    args = ["fit", TRAIN, "--no-workbook", "--epochs", "5", "--restarts", "2", "--out", out]
    if stderr == "full":
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, args)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=full, text=True)
    else:
        proc = subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, args)], cwd=ROOT,
                              stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), text=True)
    assert proc.returncode == 0
    assert sorted(os.listdir(out)) == ["compare.png", "loss.png", "metrics.json", "recipe.toml", "submission.csv"]
    assert f"wrote {out / 'metrics.json'}" in proc.stdout


@pytest.mark.slow  # a whole command in a subprocess
def test_a_stdout_that_cannot_hold_the_tables_characters_gets_question_marks(tmp_path):
    """PYTHONIOENCODING=latin-1: the table's "–" and "→" ended every successful fit in a
    UnicodeEncodeError after writing, exit 1."""
    out = tmp_path / "out"
    proc = _module_cli("fit", TRAIN, "--no-workbook", "--baselines", "none", "--valid-pct", "0", "--epochs", "5",
                       "--restarts", "2", "--out", out, env={**os.environ, "PYTHONIOENCODING": "latin-1"})
    stdout, stderr = proc.stdout.decode("latin-1"), proc.stderr.decode("latin-1")
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "|        ? |" in stdout  # no validation rows: "–" for each valid score
    assert f"wrote {out / 'metrics.json'}" in stdout


@pytest.mark.slow  # a whole command in a subprocess
def test_lesson_quad_on_a_full_disk_is_one_error_line(tmp_path):
    """Files may not grow past 200 kB: quad.png (100 kB) fits, quad.xlsx of --lr 0.01's 2,695
    steps (470 kB) does not. Before: XlsxWriter's FileCreateError as a traceback."""
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = _module_cli("lesson", "quad", "--lr", "0.01", "--out", out, text=True, preexec_fn=_file_size_limit(200_000),
                       env={**os.environ, "TMPDIR": str(scratch)})
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("warning: ")]
    assert errors == [f"error: cannot write to {out}: File too large"], proc.stderr
    assert os.listdir(out) == [] and os.listdir(scratch) == []
