"""Recalculate an .xlsx workbook from scratch with headless LibreOffice, or with Gnumeric.

Two engines, so that the workbook's claim does not rest on one program's arithmetic:
LibreOffice Calc (the default) and Gnumeric's `ssconvert --recalc`. Each runs in its
own process group in a fresh temporary folder, with a time limit, and is killed whole
on a timeout or Ctrl-C.

LibreOffice keeps the cached formula results of an xlsx file by default
("never recalculate" for OOXML), which would prove nothing.  Every run here
therefore uses a throw-away user profile whose registrymodifications.xcu forces
a full recalculation on load (for OOXML and ODF), disables macros, and never
updates external links.  The profile lives in a fresh temporary directory, so a
run never touches or waits on the user's real profile and parallel runs do not
collide.

    path = recalculate("model.xlsx")        # caller owns path.parent
    try:
        ...
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)

or, cleaning up automatically:

    with recalculated("model.xlsx") as path:
        ...
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from titanic_reg.limits import VERIFY_TIMEOUT

__all__ = [
    "ENGINES",
    "INSTALL_HINT",
    "NoEngine",
    "NoGnumeric",
    "NoLibreOffice",
    "RecalcError",
    "RecalcTimeout",
    "find_soffice",
    "find_ssconvert",
    "recalculate",
    "recalculated",
]

ENGINES = ("libreoffice", "gnumeric")
ENGINE_TITLES = {"libreoffice": "LibreOffice", "gnumeric": "Gnumeric"}
GNUMERIC_HINT = ("install Gnumeric: on Debian/Ubuntu `apt-get install -y --no-install-recommends gnumeric`, "
                 "elsewhere from http://www.gnumeric.org/")

INSTALL_HINT = (
    "install LibreOffice Calc: on Debian/Ubuntu "
    "`apt-get install -y --no-install-recommends libreoffice-calc`, "
    "elsewhere from https://www.libreoffice.org/download/"
)

# The filter name LibreOffice uses to write .xlsx.
_XLSX_FILTER = "xlsx:Calc MS Excel 2007 XML"

# Profile settings, written before LibreOffice first starts with the profile.
#   Calc/Formula/Load  OOXMLRecalcMode, ODFRecalcMode: 0 = always recalculate
#       on load, 1 = never (the shipped default), 2 = ask.
#   Common/Security/Scripting  MacroSecurityLevel 3 = "very high" (only signed
#       macros from trusted locations, and there are none), and macro
#       execution switched off outright.
#   Calc/Content/Update  Link 1 = never update external links.
#   Inet/Settings  every protocol through a manual proxy at 0.0.0.0:9, which no connection
#       reaches, and no host exempt: an image linked by URL (verify refuses such files
#       first) is never fetched (without it: OPTIONS and GETs to the linked address).
_PROFILE_XCU = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyName" oor:op="fuse"><value>0.0.0.0</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyName" oor:op="fuse"><value>0.0.0.0</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyName" oor:op="fuse"><value>0.0.0.0</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetNoProxy" oor:op="fuse"><value></value></prop></item>
</oor:items>
"""


class RecalcError(Exception):
    """The spreadsheet engine could not recalculate the workbook."""


class RecalcTimeout(RecalcError):
    """The engine ran past its time and was killed."""


class NoEngine(RecalcError):
    """The spreadsheet engine asked for is not installed."""


class NoLibreOffice(NoEngine):
    """No LibreOffice (soffice) executable was found."""

    def __init__(self, message: str | None = None):
        super().__init__(message or f"LibreOffice (soffice) not found; {INSTALL_HINT}")


class NoGnumeric(NoEngine):
    """No Gnumeric (ssconvert) executable was found."""

    def __init__(self, message: str | None = None):
        super().__init__(message or f"Gnumeric (ssconvert) not found; {GNUMERIC_HINT}")


def find_ssconvert() -> str | None:
    return shutil.which("ssconvert")


def find_soffice() -> str | None:
    """Path of the LibreOffice executable, or None.

    Looks on PATH for ``soffice`` and ``libreoffice``, then in the usual
    install locations (Linux packages, libreoffice.org tarballs under /opt,
    the macOS app bundle, Windows Program Files).
    """
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    candidates = [
        "/usr/lib/libreoffice/program/soffice",
        "/usr/lib64/libreoffice/program/soffice",
        "/usr/local/lib/libreoffice/program/soffice",
        *sorted(glob.glob("/opt/libreoffice*/program/soffice"), reverse=True),
        "/snap/bin/libreoffice",
        "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    ]
    if sys.platform == "win32":  # pragma: no cover - not exercised on CI
        for base in (os.environ.get("PROGRAMFILES"), os.environ.get("PROGRAMFILES(X86)")):
            if base:
                candidates.append(os.path.join(base, "LibreOffice", "program", "soffice.exe"))
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _engine_env(work: Path) -> dict[str, str]:
    """The whole environment an engine runs with, not the caller's: a workbook can read the
    environment (Gnumeric's GETENV) and show it in a cell, so nothing of the user's (tokens,
    DISPLAY, the D-Bus session, proxies) reaches the engine. HOME and TMPDIR are folders of
    `work`, which is removed afterwards. CUPS: LibreOffice looks its printers up when a sheet
    has print titles, connecting to port 631; SAL_DISABLE_CUPS stops that, and CUPS_SERVER
    names a socket that does not exist, for whatever CUPS client is run all the same."""
    for sub in ("home", "tmp"):
        (work / sub).mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "SAL_DISABLE_CUPS": "1",
        "CUPS_SERVER": str(work / "no-cups.sock"),
        "GSETTINGS_BACKEND": "memory",  # Gnumeric's settings: in memory, nothing read or written
        "NO_AT_BRIDGE": "1",
    }
    if sys.platform == "win32":  # pragma: no cover - what a Windows program needs to start at all
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "WINDIR", "COMSPEC") if k in os.environ})
    return env


def _write_profile(profile_dir: Path) -> None:
    user = profile_dir / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(_PROFILE_XCU, encoding="utf-8")


def _kill_group(proc: subprocess.Popen, pipes_before: set[str] = frozenset()) -> None:
    """Kill the process group led by proc (our own session), reap proc, and remove the IPC
    socket a killed LibreOffice leaves in /tmp (OSL_PIPE_*: it ignores TMPDIR for it)."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:  # pragma: no cover
        with contextlib.suppress(OSError):
            proc.kill()
    with contextlib.suppress(Exception):
        proc.communicate(timeout=10)
    for path in _osl_pipes() - set(pipes_before):
        _remove_if_dead(path)


def _osl_pipes() -> set[str]:
    return set(glob.glob(f"/tmp/OSL_PIPE_{os.getuid()}_*")) if hasattr(os, "getuid") else set()


def _remove_if_dead(path: str) -> None:
    """A socket no process listens on any more (connecting is refused); a live LibreOffice's,
    someone else's run, is left alone."""
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)


def _tail(data: bytes | None, limit: int = 600) -> str:
    text = (data or b"").decode("utf-8", "replace").strip()
    # LibreOffice's harmless chatter about Java.
    lines = [ln for ln in text.splitlines() if "javaldx" not in ln]
    text = " | ".join(ln.strip() for ln in lines if ln.strip())
    return text if len(text) <= limit else "..." + text[-limit:]


def recalculate(xlsx_path: str | os.PathLike, *, timeout: float = VERIFY_TIMEOUT,
                soffice: str | None = None, engine: str = "libreoffice") -> Path:
    """Recalculate every formula of xlsx_path in `engine` (libreoffice or gnumeric); return
    the new file, in a new temporary folder the caller removes (see :func:`convert`)."""
    if engine == "gnumeric":
        return _gnumeric(xlsx_path, timeout=timeout)
    if engine != "libreoffice":
        raise ValueError(f"unknown engine {engine!r}: {', '.join(ENGINES)}")
    return convert(xlsx_path, _XLSX_FILTER, ".xlsx", timeout=timeout, soffice=soffice)


def _gnumeric(xlsx_path, *, timeout: float) -> Path:
    """`ssconvert --recalc` from xlsx to xlsx: Gnumeric reads the file, recalculates every
    formula and writes the values it computed as the new cached ones."""
    src = Path(xlsx_path)
    if not src.is_file():
        raise RecalcError(f"{src}: no such file")
    exe = find_ssconvert()
    if not exe:
        raise NoGnumeric()
    work = Path(tempfile.mkdtemp(prefix="titanic-reg-gnumeric-"))
    try:
        (work / "in").mkdir()
        inp, produced = work / "in" / "workbook.xlsx", work / "workbook.xlsx"
        shutil.copyfile(src, inp)
        env = _engine_env(work)
        cmd = [exe, "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(inp), str(produced)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    cwd=work, start_new_session=(os.name == "posix"), env=env)
        except OSError as exc:
            raise NoGnumeric(f"cannot run Gnumeric ({exe}): {exc}; {GNUMERIC_HINT}") from exc
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise RecalcTimeout(f"Gnumeric did not finish recalculating {src.name} within {timeout:g} s "
                              "(killed); pass a larger timeout for big workbooks") from None
        except BaseException:  # KeyboardInterrupt and friends: leave nothing behind
            _kill_group(proc)
            raise
        if proc.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            raise RecalcError(f"Gnumeric failed on {src.name} (exit code {proc.returncode}): "
                              f"{_tail(err) or _tail(out) or 'no message'}")
        result_dir = Path(tempfile.mkdtemp(prefix="titanic-reg-recalculated-"))
        result = result_dir / (src.stem + ".xlsx")
        shutil.move(str(produced), result)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def convert(xlsx_path: str | os.PathLike, to: str, suffix: str, *, timeout: float = VERIFY_TIMEOUT,
            soffice: str | None = None) -> Path:
    """Open xlsx_path in LibreOffice (recalculating every formula) and save it with
    the `--convert-to` filter `to` (e.g. "pdf:calc_pdf_Export"); return the new file.

    The input file is not modified.  The result is saved as .xlsx (same file
    name as the input) in a NEW temporary directory; the caller owns that
    directory and should remove it, e.g. ``shutil.rmtree(path.parent)`` (or use
    :func:`recalculated`, which does so).  Everything else (profile, copy of
    the input) is removed before returning.

    Raises NoLibreOffice when soffice is not installed, RecalcError when
    LibreOffice exits non-zero, produces no output, or runs longer than
    ``timeout`` seconds (its whole process group is then killed).
    """
    src = Path(xlsx_path)
    if not src.is_file():
        raise RecalcError(f"{src}: no such file")
    exe = soffice or find_soffice()
    if not exe:
        raise NoLibreOffice()

    work = Path(tempfile.mkdtemp(prefix="titanic-reg-lo-"))
    try:
        profile = work / "profile"
        _write_profile(profile)
        indir, outdir = work / "in", work / "out"
        indir.mkdir()
        outdir.mkdir()
        # A plain ASCII name: LibreOffice names its output after the input.
        inp = indir / "workbook.xlsx"
        shutil.copyfile(src, inp)
        cmd = [
            exe,
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless", "--invisible", "--norestore", "--nolockcheck", "--nologo",
            "--nodefault",
            "--convert-to", to,
            "--outdir", str(outdir),
            str(inp),
        ]
        # Its scratch files go into `work`, which is removed even when LibreOffice is
        # killed and cannot clean up after itself; its IPC socket, in /tmp, _kill_group removes.
        env = _engine_env(work)
        try:
            pipes_before = _osl_pipes()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=work, start_new_session=(os.name == "posix"),
                env=env,
            )
        except OSError as exc:
            raise NoLibreOffice(f"cannot run LibreOffice ({exe}): {exc}; {INSTALL_HINT}") from exc
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, pipes_before)
            raise RecalcTimeout(
                f"LibreOffice did not finish recalculating {src.name} within {timeout:g} s "
                "(killed); pass a larger timeout for big workbooks"
            ) from None
        except BaseException:  # KeyboardInterrupt and friends: leave nothing behind
            _kill_group(proc, pipes_before)
            raise
        if proc.returncode != 0:
            raise RecalcError(
                f"LibreOffice failed on {src.name} (exit code {proc.returncode}): "
                f"{_tail(err) or _tail(out) or 'no message'}"
            )
        produced = outdir / ("workbook" + suffix)
        if not produced.is_file() or produced.stat().st_size == 0:
            raise RecalcError(
                f"LibreOffice wrote no output for {src.name}: "
                f"{_tail(err) or _tail(out) or 'no message'}"
            )
        result_dir = Path(tempfile.mkdtemp(prefix="titanic-reg-recalculated-"))
        name = src.stem + suffix
        result = result_dir / name
        shutil.move(str(produced), result)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def recalculated(xlsx_path: str | os.PathLike, *, timeout: float = VERIFY_TIMEOUT,
                 soffice: str | None = None, engine: str = "libreoffice") -> Iterator[Path]:
    """Context manager around :func:`recalculate` that removes the result on exit."""
    path = recalculate(xlsx_path, timeout=timeout, soffice=soffice, engine=engine)
    try:
        yield path
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
