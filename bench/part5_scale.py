"""Part 5: scale. Synthetic CSVs of 10k, 100k and 1M rows with the Titanic columns (the
real rows of data/train.csv resampled with a seeded generator, Age and Fare jittered,
unique ids). At every size the whole default titanic_reg.fit (no workbook, as
--no-workbook) runs in a subprocess under /usr/bin/time -v; at 1M rows the command runs
too, workbook included. Targets at 1M rows: both models fitted in 30 s, 2 GB peak memory;
at 10k rows (issue 21: two threads' barriers made it 53 s and more on a loaded machine):
both models fitted in 10 s, their CPU time shown beside (wall time alone says little on a
shared machine: a thread waiting at a barrier spins).

Why: the lesson has 891 rows; a user's table may have a million, and what grows with the
rows (reading, typing, training on every row) must stay linear or better.

Inside the subprocess (child(), `python bench/part5_scale.py CSV OUT [--compare]`) fit()
is watched through its public hooks only: its `progress` callback marks when each model's
training starts and its last step, and its scores give each model's and baseline's own fit
seconds. So the phases are: before training (reading the CSV, typing the recipe's
columns, the features, the leakage check), each train() call (its own fit_seconds),
after training (the baselines, fitted in-process here, least squares, the predictions).
At 10k rows the two-ReLU model is also trained the way it was before screening (every
start on every row) by bench/replica.py, for time and loss side by side.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    TRAIN_CSV,
    WORK,
    Results,
    cached,
    entry_point,
    fmt_mb,
    fmt_s,
    log,
    measure,
    memory_cap_mb,
    now,
    training_matrix,
    verdict,
    workbook_data_rows,
)

SCALE_SIZES = (10_000, 100_000, 1_000_000)
SCALE_GEN_VERSION = 1


def synthetic_csv(n: int, seed: int = 0) -> Path:
    """n Titanic rows resampled from data/train.csv: jittered Age and Fare, unique ids."""
    import numpy as np
    import pandas as pd

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"train_{n}.csv"
    meta = WORK / f"train_{n}.json"
    key = {"n": n, "seed": seed, "version": SCALE_GEN_VERSION,
           "source_sha256": hashlib.sha256(TRAIN_CSV.read_bytes()).hexdigest()}
    if cached(path, meta, key):
        return path
    src = pd.read_csv(TRAIN_CSV, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed + n)
    df = src.iloc[rng.integers(0, len(src), n)].reset_index(drop=True)
    df["PassengerId"] = np.arange(1, n + 1).astype(str)
    age = pd.to_numeric(df["Age"].replace("", np.nan)).to_numpy()
    has_age = ~np.isnan(age)
    jittered = np.clip(age + rng.normal(0, 1.0, n), 0.42, 80.0)
    df["Age"] = np.where(has_age, np.char.mod("%.2f", np.round(np.nan_to_num(jittered), 2)), "")
    fare = pd.to_numeric(df["Fare"]).to_numpy() * np.exp(rng.normal(0, 0.05, n))
    df["Fare"] = np.char.mod("%.4f", np.round(fare, 4))
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(path)
    meta.write_text(json.dumps(key))
    return path


def child(csv: str, out: str, compare: bool) -> None:
    """Inside a measured subprocess: titanic_reg.fit on csv, no workbook (as --no-workbook),
    its phases marked by its progress callback. With `compare`, the two-ReLU model is then
    also trained the unscreened way (every start on every row), for the side-by-side row."""
    t0 = now()
    import resource

    import numpy as np
    import torch

    from titanic_reg import fit
    from titanic_reg.pipeline import model_config
    from titanic_reg.train import planned_steps

    t_import = now() - t0
    marks: dict[str, dict] = {}

    def progress(name, total):
        mark = marks[name] = {"start": now(), "last": now(), "counted": 0, "stopped_at": None,
                              "cpu_start": time.process_time(), "cpu_last": time.process_time()}

        def advance(steps, total=None):
            mark["counted"] += steps
            mark["last"] = now()
            mark["cpu_last"] = time.process_time()  # every thread of this process
            if total is not None:  # conjugate gradient stopped early, after `total` steps
                mark["stopped_at"] = total
        return advance

    t = now()
    r = fit(csv, test_path=None, valid_pct=0.2, descent_steps=0, progress=progress)
    end = now()
    total = end - t
    peak_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = r.scores
    X, y = training_matrix(r)
    n = X.shape[0]
    names = list(marks)
    fit_s = {name: float(v) / 1000 for name, v in scores["fit_ms"].items() if v == v}
    configs = {name: model_config(name) for name in names}
    Xn, yn = X.numpy(), y.numpy()
    w, *_ = np.linalg.lstsq(Xn, yn, rcond=None)
    optimum = float(((Xn @ w - yn) ** 2).mean())
    doc = {
        "csv": csv, "rows_train": n, "import_s": t_import, "fit_s": total,
        "before_training_s": marks[names[0]]["start"] - t,
        "after_training_s": end - marks[names[-1]]["last"],
        "train_fit_s": {name: fit_s[name] for name in names},  # train()'s own fit_seconds
        "train_cpu_s": {name: m["cpu_last"] - m["cpu_start"] for name, m in marks.items()},
        "steps": {name: m["stopped_at"] if m["stopped_at"] is not None else m["counted"]
                  for name, m in marks.items()},
        "screened": {name: planned_steps(n, cfg) > cfg.epochs for name, cfg in configs.items()},
        "train_mse": {name: float(scores.loc[name, "train_mse"]) for name in names},
        "optimum_gap": float(scores.loc["linear", "train_mse"]) - optimum if "linear" in names else None,
        "baselines_s": {name: s for name, s in fit_s.items() if name not in marks},
        "torch_threads_default": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "peak_rss_fit_mb": peak_fit,
    }
    if compare:
        import replica
        from titanic_reg.models import get

        replica.warm_up()
        t = now()
        _, hist = replica.descend(get("two_relu"), X, y, model_config("two_relu"))
        doc["unscreened"] = {"seconds": now() - t, "train_mse": float(hist[-1].min())}
    Path(out).write_text(json.dumps(doc))


def _run_child(csv: Path, tag: str, timeout: float, cap: float, compare: bool = False) -> dict:
    outjson = WORK / f"child_{tag}.json"
    outjson.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), str(csv), str(outjson)] + (["--compare"] if compare else [])
    r = measure(cmd, timeout=timeout, mem_cap_mb=cap)
    entry = {"run": {k: v for k, v in r.items() if k != "stderr_tail"}}
    if r["status"] != "ok" or not outjson.exists():
        entry["error"] = r["status"] + " " + r["stderr_tail"][-600:]
        return entry
    c = json.loads(outjson.read_text())
    entry["child"] = c
    entry["models_fit_s"] = sum(c["train_fit_s"].values())
    return entry


def run(res: Results, quick: bool) -> None:
    log("part 5: scale (synthetic 10k / 100k / 1M rows)")
    info = {"sizes": {}}
    cap = memory_cap_mb()
    info["memory_cap_mb"] = cap
    sizes = SCALE_SIZES if not quick else SCALE_SIZES[:2]
    for n in sizes:
        t = now()
        csv = synthetic_csv(n)
        gen_s = now() - t
        log(f"  {n:,} rows: fit(), no workbook{'; and every start on every row' if n == sizes[0] else ''}")
        entry = _run_child(csv, str(n), timeout=900, cap=cap, compare=n == sizes[0])
        entry.update({"csv": str(csv.relative_to(ROOT)), "csv_bytes": csv.stat().st_size, "generate_s": gen_s})
        info["sizes"][n] = entry
    # The whole command at the largest size, workbook (a --sheet-rows sample) included.
    big = sizes[-1]
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-scale-"))
    log(f"  {big:,} rows: titanic-reg fit, with its workbook")
    whole = measure([entry_point(), "fit", str(synthetic_csv(big)), "--out", str(tmp / "out")], timeout=900,
                    mem_cap_mb=cap)
    cli = {"run": {k: v for k, v in whole.items() if k != "stderr_tail"}}
    if whole["status"] == "ok":
        book = tmp / "out" / "titanic.xlsx"
        cli["workbook_bytes"] = book.stat().st_size
        cli["workbook_rows"] = json.loads((tmp / "out" / "metrics.json").read_text())["rows"]
        cli["workbook_data_rows"] = workbook_data_rows(book)
    else:
        cli["error"] = whole["status"] + " " + whole["stderr_tail"][-600:]
    shutil.rmtree(tmp, ignore_errors=True)
    info["cli_largest"] = cli
    res.parts["5"] = info

    prev = None
    for n, e in info["sizes"].items():
        if "error" in e:
            res.add(5, f"scale {n:,} rows", f"FAILED: {e['error'][:200]}")
            continue
        proc, c = e["run"], e["child"]
        calls, steps = c["train_fit_s"], c["steps"]
        how = ("starts screened on a sample, then the best on all" if c["screened"]["two_relu"]
               else "every start on every row")
        target = {1_000_000: 30, 10_000: 10}.get(n)
        cpu = c.get("train_cpu_s", {})
        res.add(5, f"scale {n:,} rows ({c['rows_train']:,} train): both models fitted",
                f"{fmt_s(e['models_fit_s'])} (linear {fmt_s(calls['linear'])}, {steps['linear']} steps; "
                f"two-ReLU {fmt_s(calls['two_relu'])}, {how}; CPU time {fmt_s(sum(cpu.values()))}, "
                f"OMP_NUM_THREADS {c['OMP_NUM_THREADS'] or 'unset'})",
                f"≤ {target} s" if target else "", verdict(e["models_fit_s"] <= target) if target else "",
                value=e["models_fit_s"], unit="s")
        base = c["baselines_s"]
        res.add(5, f"scale {n:,} rows: fit() in all, no workbook",
                f"{fmt_s(c['fit_s'])} (before training {fmt_s(c['before_training_s'])}: read, typed columns, "
                f"features, leakage check; training {fmt_s(e['models_fit_s'])}; after training "
                f"{fmt_s(c['after_training_s'])}: baselines {fmt_s(sum(base.values()))} (MLP "
                f"{fmt_s(base.get('sklearn_mlp'))}), least squares, predictions; + imports {fmt_s(c['import_s'])})",
                value=c["fit_s"], unit="s")
        res.add(5, f"scale {n:,} rows: fitted",
                f"two-ReLU train MSE {c['train_mse']['two_relu']:.6f}; linear {c['train_mse']['linear']:.6f}, "
                f"{c['optimum_gap']:.1e} from least squares", value=c["train_mse"]["two_relu"])
        if "unscreened" in c:
            u = c["unscreened"]
            res.add(5, f"scale {n:,} rows: two-ReLU, every start on every row instead (the old way)",
                    f"{fmt_s(u['seconds'])}, train MSE {u['train_mse']:.6f} "
                    f"(screened: {fmt_s(calls['two_relu'])}, {c['train_mse']['two_relu'] - u['train_mse']:+.1e})",
                    value=u["seconds"], unit="s")
        sys_share = proc.get("sys_s", 0) / max(proc.get("sys_s", 0) + proc.get("user_s", 0), 1e-9)
        res.add(5, f"scale {n:,} rows: peak memory",
                f"{fmt_mb(proc['max_rss_mb'])} (kernel time {100 * sys_share:.0f}% of CPU time)",
                "≤ 2 GB" if n == 1_000_000 else "",
                verdict(proc["max_rss_mb"] <= 2048) if n == 1_000_000 else "", value=proc["max_rss_mb"], unit="MB")
        if prev:
            pn, pe = prev
            pc = pe["child"]
            res.add(5, f"scale growth {pn:,} → {n:,} rows (×{n // pn})",
                    f"both models fitted ×{e['models_fit_s'] / pe['models_fit_s']:.1f}, "
                    f"two-ReLU ×{calls['two_relu'] / pc['train_fit_s']['two_relu']:.1f}, "
                    f"before training ×{c['before_training_s'] / pc['before_training_s']:.1f}, "
                    f"fit() ×{c['fit_s'] / pc['fit_s']:.1f}, "
                    f"peak memory ×{proc['max_rss_mb'] / pe['run']['max_rss_mb']:.1f}")
        prev = (n, e)
    if "error" in cli:
        res.add(5, f"scale {big:,} rows: titanic-reg fit with its workbook", f"FAILED: {cli['error'][:200]}")
    else:
        rows = cli["workbook_rows"]
        held = cli["workbook_data_rows"]
        res.add(5, f"scale {big:,} rows: titanic-reg fit, workbook included",
                f"{fmt_s(cli['run']['wall_s'])}, peak {fmt_mb(cli['run']['max_rss_mb'])} (tree "
                f"{fmt_mb(cli['run']['tree_peak_mb'])}); the workbook holds a "
                f"labelled sample of {'?' if held is None else f'{held:,}'} of the "
                f"{rows['train'] + rows['valid']:,} rows ({cli['workbook_bytes'] / 1e6:.1f} MB)",
                value=cli["run"]["wall_s"], unit="s", note="--sheet-rows, default 10,000 (fewer for wide tables)")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--compare"):
        sys.exit("usage: part5_scale.py CSV OUT_JSON [--compare] (run by bench/run.py)")
    child(sys.argv[1], sys.argv[2], len(sys.argv) == 4)
