"""What every part of the bench shares: paths, the stopwatch and its summaries, the
results table, the machine's description, and the subprocess measurement (wall time and
peak memory of a command's whole process tree).

The parts reach titanic-reg only through its public API (titanic_reg.fit, the model
registry, titanic_reg.train.train and its config, the command line), so that the core
can be restructured without the bench reaching into it. The few FitResult fields the
bench needs are read in one place, training_matrix().
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
TRAIN_CSV = ROOT / "data" / "train.csv"
REFERENCE_XLSX = (ROOT / ".." / "shared" / "reference" / "fastai-lesson3-titanic.xlsx").resolve()
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# The checkout the bench lives in is the code it measures, in this process and in every
# command it runs (an editable install elsewhere would otherwise win in the subprocesses).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- timing

def now() -> float:
    return time.perf_counter()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_s(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 120:
        return f"{s:.2f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def fmt_mb(mb: float | None) -> str:
    if mb is None:
        return "n/a"
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_x(r: float) -> str:
    if r is None or math.isnan(r):
        return "n/a"
    return f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def summary(samples: list[float]) -> dict:
    return {"median": median(samples), "min": min(samples) if samples else None,
            "max": max(samples) if samples else None, "n": len(samples), "samples": samples}


def interleaved(fns: dict, rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each function `rounds` times, alternating between them (rotating the order
    every round) so that a slow spell of the machine hits every contender alike."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    out = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            t = now()
            fns[name]()
            out[name].append(now() - t)
    return out


def per_call(fn, calls: int):
    """fn timed over `calls` calls, as one sample of the mean: a millisecond is below the
    noise of a single timing here."""
    def timed():
        for _ in range(calls):
            fn()
    return timed


# --------------------------------------------------------------------------- results

class Results:
    def __init__(self):
        self.rows: list[dict] = []
        self.parts: dict[str, dict] = {}

    def add(self, part, label, shown, target="", verdict="", value=None, unit="", note=""):
        self.rows.append({"part": str(part), "label": label, "shown": shown, "target": target,
                          "verdict": verdict, "value": value, "unit": unit, "note": note})


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "MISSED")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- titanic-reg, publicly

def training_matrix(result):
    """(X, y) of a FitResult's training rows: the only fields of the result the bench reads
    (docs/api.md's X, y and n_train), kept here so that a renamed field is one edit."""
    n = result.n_train
    return result.X[:n], result.y[:n]


def lesson_matrix():
    """X, y of the lesson's 712 complete rows, exactly as fit(valid_pct=0) builds them:
    the lesson's recipe, its typed rows, every one a training row. (Only the linear model
    is fitted, without scikit-learn: the matrix is what is wanted.)"""
    import titanic_reg

    result = titanic_reg.fit(TRAIN_CSV, test_path=None, valid_pct=0, descent_steps=0, models=("linear",),
                             baselines=None)
    return training_matrix(result)


def train_settings(cfg) -> dict:
    """The settings of a TrainConfig that a model's defaults set, for results.json."""
    return {"optimizer": cfg.optimizer, "epochs": cfg.epochs, "lr": cfg.lr, "restarts": cfg.restarts}


def workbook_data_rows(book: Path) -> int | None:
    """How many rows the workbook's Data sheet holds (its table, read back by the public
    titanic_reg.read_sheet)."""
    try:
        from titanic_reg import read_sheet

        return len(read_sheet(book, "Data"))
    except Exception as exc:  # noqa: BLE001 - informative only
        log(f"  cannot count the Data sheet's rows of {book}: {exc}")
        return None


def entry_point() -> str:
    beside = Path(sys.executable).parent / "titanic-reg"
    if beside.exists():
        return str(beside)
    venv = ROOT / ".venv" / "bin" / "titanic-reg"
    if venv.exists():
        return str(venv)
    found = shutil.which("titanic-reg")
    if not found:
        raise SystemExit("titanic-reg entry point not found: install the project into the venv")
    return found


def cached(path: Path, meta: Path, key: dict) -> bool:
    """Whether a generated CSV is there already, made with these settings (meta holds them)."""
    try:
        return path.exists() and json.loads(meta.read_text()) == key
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- machine

def machine_info() -> dict:
    cpu = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                if k in ("model name", "vendor_id", "cpu family", "model", "cpu MHz", "cache size",
                         "cpu cores", "siblings") and k not in cpu:
                    cpu[k] = v
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) / 1024
    except OSError:
        pass
    import numpy
    import sklearn
    import torch

    info = {
        "date": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "cpu_model": cpu.get("model name", platform.processor() or "unknown"),
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "mem_total_mb": mem_total,
        "mem_available_mb": mem_available(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_default_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_start": loadavg(),
        "gnu_time": GNU_TIME,
    }
    try:
        from titanic_reg.sheets.recalc import find_soffice

        exe = find_soffice()
        if exe:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
            info["libreoffice"] = out.stdout.strip()
    except Exception as exc:  # noqa: BLE001 - informative only
        info["libreoffice"] = f"unknown ({exc})"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["git"] = head + (" (with uncommitted changes)" if dirty else "")
    except Exception:  # noqa: BLE001
        pass
    return info


def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def mem_available():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None


def memory_cap_mb() -> float:
    """Where a run is killed: min(12 GB, 60% of the memory available now)."""
    avail = mem_available()
    return min(12 * 1024, 0.6 * avail) if avail else 8 * 1024


# --------------------------------------------------------------------------- subprocesses

def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _parse_gnu_time(text: str) -> dict:
    keys = {
        "Maximum resident set size (kbytes)": ("max_rss_mb", lambda v: int(v) / 1024),
        "User time (seconds)": ("user_s", float),
        "System time (seconds)": ("sys_s", float),
        "Minor (reclaiming a frame) page faults": ("minor_faults", int),
        "Exit status": ("exit_status", int),
    }
    out = {}
    for line in text.splitlines():
        line = line.strip()
        for k, (name, conv) in keys.items():
            if line.startswith(k + ":"):
                try:
                    out[name] = conv(line.split(":", 1)[1].strip())
                except ValueError:
                    pass
        if line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(": ", 1)[-1].strip()
            parts = [float(p) for p in v.split(":")]
            sec = 0.0
            for p in parts:
                sec = sec * 60 + p
            out["elapsed_s"] = sec
        if line.startswith("Command terminated by signal"):
            out["signal"] = line
    return out


def subprocess_env() -> dict:
    """The environment of a measured command: this one, with the checkout first on the
    import path (see ROOT above)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def measure(cmd: list[str], *, timeout: float, mem_cap_mb: float | None = None, env: dict | None = None,
            cwd: Path = ROOT, keep_output: bool = False) -> dict:
    """Run cmd (under /usr/bin/time -v when present): wall time, peak memory, exit status.

    - max_rss_mb: the kernel's peak resident set of the largest single process in the
      tree (what /usr/bin/time -v reports; wait4's ru_maxrss), the figure we report;
    - tree_peak_mb: the largest sum of VmRSS over the whole process tree, sampled every
      50 ms (catches e.g. Python and LibreOffice alive at once).
    On timeout or when the tree's memory exceeds mem_cap_mb, every process of the run is
    killed (by pid, in its own session) and status says so.
    """
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-run-"))
    timefile = tmp / "time.txt"
    full = [GNU_TIME, "-v", "-o", str(timefile), *cmd] if GNU_TIME else list(cmd)
    stdout, stderr = open(tmp / "stdout", "wb"), open(tmp / "stderr", "wb")
    run_env = subprocess_env() if env is None else dict(env)
    t0 = now()
    proc = subprocess.Popen(full, cwd=cwd, env=run_env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, start_new_session=True)
    done = {}

    def waiter():
        _, status, ru = os.wait4(proc.pid, 0)
        done["t"] = now()
        done["status"] = status
        done["ru_maxrss_mb"] = ru.ru_maxrss / 1024

    th = threading.Thread(target=waiter, daemon=True)
    th.start()
    peak_tree, status = 0.0, "ok"
    while th.is_alive():
        th.join(0.05)
        if not th.is_alive():
            break
        pids = _tree(proc.pid)
        peak_tree = max(peak_tree, sum(_rss_mb(p) for p in pids))
        over_time = now() - t0 > timeout
        over_mem = mem_cap_mb is not None and peak_tree > mem_cap_mb
        if over_time or over_mem:
            status = f"timeout after {timeout:g} s" if over_time else f"killed above {fmt_mb(mem_cap_mb)}"
            # Kill the command's processes but not /usr/bin/time, so that it still reports.
            for p in reversed(pids[1:] if GNU_TIME else pids):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            th.join(15)
            if th.is_alive():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # our own session, by its id
                except ProcessLookupError:
                    pass
                th.join(15)
            break
    proc.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
    stdout.close()
    stderr.close()
    wall = done.get("t", now()) - t0
    res = {"cmd": cmd, "wall_s": wall, "status": status, "tree_peak_mb": peak_tree,
           "ru_maxrss_mb": done.get("ru_maxrss_mb")}
    raw_status = done.get("status")
    if raw_status is not None:
        res["exit_code"] = os.waitstatus_to_exitcode(raw_status) if hasattr(os, "waitstatus_to_exitcode") else raw_status
    if GNU_TIME and timefile.exists():
        gt = _parse_gnu_time(timefile.read_text(errors="replace"))
        res.update(gt)
        if "exit_status" in gt:
            res["exit_code"] = gt["exit_status"]
    else:
        res["max_rss_mb"] = res["ru_maxrss_mb"]
    if status == "ok" and res.get("exit_code", 0) != 0:
        res["status"] = f"exit code {res.get('exit_code')}"
    res["stderr_tail"] = (tmp / "stderr").read_text(errors="replace")[-1500:]
    if keep_output:
        res["stdout"] = (tmp / "stdout").read_text(errors="replace")
    shutil.rmtree(tmp, ignore_errors=True)
    return res
