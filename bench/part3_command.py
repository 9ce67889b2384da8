"""Part 3: the command as a user runs it: the venv's `titanic-reg` entry point in a
subprocess, `--help` (target 0.3 s), `fit data/train.csv` (target 5 s) and `fit --verify`
(target 15 s), with wall time and peak memory (the largest process and the sampled sum over
the process tree); and one `fit` profiled with pyinstrument, folded into phases.

Why: the command's wall time is what a user waits for, imports and all; the profile says
where it goes. The phases are read off the profile by the names of the functions on its
stack (_PHASES): a function renamed in the core only moves its time to its caller's phase.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import TRAIN_CSV, Results, entry_point, fmt_mb, fmt_s, log, measure, summary, verdict


def run(res: Results, reps: int, keep: dict) -> None:
    log("part 3: the command (--help, fit, fit --verify)")
    exe = entry_point()
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-cli-"))
    keep["cli_tmp"] = tmp
    info = {"entry_point": exe}

    def series(name, make_cmd, n, timeout, warmup=0):
        runs = []
        for i in range(warmup + n):
            r = measure(make_cmd(i), timeout=timeout)
            if i >= warmup:
                runs.append(r)
            if r["status"] != "ok":
                log(f"  {name}: {r['status']}: {r['stderr_tail'][-400:]}")
                break
        last_err = [ln for ln in runs[-1]["stderr_tail"].splitlines() if ln.strip()]
        info[name] = {"runs": [{k: v for k, v in r.items() if k != "stderr_tail"} for r in runs],
                      "error": last_err[-1].strip()[:160] if runs[-1]["status"] != "ok" and last_err else None,
                      "wall": summary([r["wall_s"] for r in runs if r["status"] == "ok"]),
                      "max_rss_mb": max((r.get("max_rss_mb") or 0) for r in runs),
                      "tree_peak_mb": max((r.get("tree_peak_mb") or 0) for r in runs),
                      "status": runs[-1]["status"]}
        return info[name]

    # Each against its own target, so no need to alternate them.
    series("help", lambda i: [exe, "--help"], reps, 60, warmup=1)
    series("fit", lambda i: [exe, "fit", str(TRAIN_CSV), "--out", str(tmp / f"fit{i}")], max(2, reps - 2), 120)
    series("verify", lambda i: [exe, "fit", str(TRAIN_CSV), "--out", str(tmp / f"verify{i}"), "--verify"], 2, 300)
    keep["our_workbook"] = tmp / "fit0" / "titanic.xlsx"
    info["fit_profile"] = profile_cli_fit(exe, tmp)
    res.parts["3"] = info
    for name, label, target in (("help", "titanic-reg --help", 0.3), ("fit", "titanic-reg fit data/train.csv", 5),
                                ("verify", "titanic-reg fit ... --verify", 15)):
        s = info[name]
        t = s["wall"]["median"]
        ok = s["status"] == "ok"
        shown = (f"{fmt_s(t)} (median of {s['wall']['n']}); peak {fmt_mb(s['max_rss_mb'])}"
                 if ok else f"FAILED: {s['status']}: {s.get('error') or ''}")
        if name in ("fit", "verify") and ok:  # fit: the baselines' process; verify: LibreOffice too
            shown += f" (tree {fmt_mb(s['tree_peak_mb'])})"
        res.add(3, label, shown, f"≤ {target:g} s", verdict(ok and t <= target), value=t, unit="s")
    prof = info["fit_profile"]
    if "shares" in prof:
        top = [(k, v) for k, v in prof["shares"].items() if v >= 0.04]
        res.add(3, "fit: where the time goes (pyinstrument, one run)",
                "; ".join(f"{k} {100 * v:.0f}%" for k, v in top),
                note=f"profiled run {fmt_s(prof['total_s'])}; details in results.json parts.3.fit_profile")


# Categories of a profiled `titanic-reg fit`: the innermost of these functions on the stack
# names the phase; time inside an import is counted as "import" within that phase.
_PHASES = (
    ("titanic_reg/table.py", "read_table", "read CSV"),
    ("titanic_reg/infer.py", "infer", "infer recipe"),
    ("titanic_reg/data.py", "load", "typed columns"),
    ("titanic_reg/features.py", "fit_recipe", "features"),
    ("titanic_reg/features.py", "matrix", "features"),
    ("titanic_reg/leakage.py", "suspects", "leakage check"),
    ("titanic_reg/train.py", "train", "train both models"),
    ("titanic_reg/train.py", "_train", "train both models"),
    ("titanic_reg/baselines.py", "run", "scikit-learn baselines"),
    # With the command's background process, what is left of them here is the wait.
    ("titanic_reg/background.py", "result", "scikit-learn baselines"),
    # Run by the workbook now (sheets/sample.py, for_sheets), apart from its writing.
    ("titanic_reg/descent.py", "plain_descent", "Descent sheets' runs (in write workbook)"),
    ("titanic_reg/pipeline.py", "_versions", "version info"),
    ("titanic_reg/pipeline.py", "fit", "fit (other)"),
    ("sheets/workbook.py", "write_workbook", "write workbook"),
    ("titanic_reg/report.py", "save_loss_plot", "loss.png"),
    ("titanic_reg/report.py", "write_outputs", "write outputs (other)"),
    ("titanic_reg/report.py", "table", "result table"),
)


def profile_cli_fit(exe: str, tmp: Path) -> dict:
    """One `titanic-reg fit` under pyinstrument, folded into phases (imports apart)."""
    try:
        from pyinstrument.session import Session
    except ImportError:
        return {"skipped": "pyinstrument not installed"}
    session = tmp / "fit.pyisession"
    # The console script's own function (titanic_reg.cli:run), from before its first import
    # to its exit handlers: it ends with os._exit, so the session is saved by an exit handler
    # of ours, the last to run (and Python's teardown, which the command skips, is not in it).
    cmd = [sys.executable, str(Path(__file__).resolve()), "--profile-child", str(session),
           "fit", str(TRAIN_CSV), "--out", str(tmp / "profiled")]
    r = measure(cmd, timeout=300)
    if r["status"] != "ok" or not session.exists():
        return {"error": r["status"] + " " + r["stderr_tail"][-300:]}
    root = Session.load(str(session)).root_frame()
    acc: dict[str, float] = {}

    def phase_of(f, current):
        path = (f.file_path or "").replace("\\", "/")
        for suffix, func, name in _PHASES:
            if f.function == func and path.endswith(suffix):
                return name
        return current

    def walk(f, current):
        current = phase_of(f, current)
        if f.function == "_find_and_load":
            key = f"imports ({current})" if current != "start-up" else "imports before fit (torch, pandas, XlsxWriter)"
            acc[key] = acc.get(key, 0.0) + f.time
            return
        own = f.time - sum(c.time for c in f.children)
        acc[current] = acc.get(current, 0.0) + own
        for c in f.children:
            walk(c, current)

    walk(root, "start-up")
    total = root.time
    imports = sum(v for k, v in acc.items() if k.startswith("imports"))
    session.unlink(missing_ok=True)
    shares = dict(sorted(((k, v / total) for k, v in acc.items()), key=lambda kv: -kv[1]))
    return {"total_s": total, "seconds": {k: acc[k] for k in shares}, "shares": shares,
            "imports_share": imports / total, "wall_unprofiled_note": "pyinstrument adds overhead; shares, not seconds"}


def profile_child(session: str, args: list[str]) -> None:
    """Inside the measured subprocess: `titanic-reg ARGS` under pyinstrument, saved to `session`."""
    import atexit

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()

    def save():
        profiler.stop()
        profiler.last_session.save(session)

    atexit.register(save)  # registered first, so run last: after the command's own handlers
    sys.argv = ["titanic-reg", *args]
    from titanic_reg.cli import run

    run()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--profile-child":
        sys.exit("usage: part3_command.py --profile-child SESSION ARGS... (run by bench/run.py)")
    profile_child(sys.argv[2], sys.argv[3:])
