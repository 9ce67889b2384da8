"""Part 7: the models of the registry (`--models`), each on the lesson's 712 complete rows
with its own defaults: train()'s time to its final loss (the target: mlp:8 at 0.1150 or
below within 5 s; relus:N's loss falling or staying from N = 2 to 4 to 8), the time to the
best training loss of scikit-learn's MLPRegressor(8) (over five seeds) against
scikit-learn's fit time, and LibreOffice's recalculation of a workbook holding that model
alone (written by the command), against the lesson's workbook, net of start-up.

Why: the registry lets a user pick a bigger model; this says what each costs, in torch and
in a spreadsheet, and whether it beats the obvious library alternative.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import (
    REFERENCE_XLSX,
    TRAIN_CSV,
    Results,
    entry_point,
    fmt_s,
    fmt_x,
    interleaved,
    lesson_matrix,
    log,
    measure,
    median,
    now,
    summary,
    verdict,
)
from part4_libreoffice import count_formulas, strip_cached_values


PART7_MODELS = ("linear", "two_relu", "relus:4", "relus:8", "mlp:8", "mlp:8-4")


def run(res: Results, reps: int) -> None:
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPRegressor

    from titanic_reg.models import get
    from titanic_reg.pipeline import model_config
    from titanic_reg.train import train

    log("part 7: the models: " + ", ".join(PART7_MODELS))
    X, y = lesson_matrix()
    Xn, yn = X.numpy(), y.numpy()
    sk = {}
    for seed in range(5):  # scikit-learn's MLP of 8 hidden ReLUs, as the issue measured it
        est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3000, random_state=seed)
        t = now()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(Xn, yn)
        sk[seed] = (float(np.mean((est.predict(Xn) - yn) ** 2)), now() - t)
    best = min(v[0] for v in sk.values())
    sk_time = median([v[1] for v in sk.values()])
    info = {"sklearn_mlp8": {"mse_by_seed": {k: v[0] for k, v in sk.items()}, "fit_s": sk_time}, "models": {}}
    res.add(7, "scikit-learn MLPRegressor(8): best train MSE of 5 seeds; median fit time",
            f"{best:.4f}; {fmt_s(sk_time)}", value=best)
    for name in PART7_MODELS:
        model = get(name)
        cfg = model_config(model)
        times, out = [], None
        for _ in range(reps):
            t = now()
            out = train(model, X, y, cfg)
            times.append(now() - t)
        seconds = median(times)
        hist = out.history
        reach = next((i for i, v in enumerate(hist) if v <= best), None)
        to_sk = None if reach is None else seconds * reach / max(1, len(hist) - 1)
        info["models"][name] = {"train_mse": out.train_mse, "times": times, "steps": len(hist) - 1,
                                "reach_sklearn_step": reach, "reach_sklearn_s": to_sk}
        target = {"mlp:8": ("≤ 0.1150 in ≤ 5 s", out.train_mse <= 0.1150 and seconds <= 5)}.get(name, ("", None))
        res.add(7, f"{name}: train MSE; time to it", f"{out.train_mse:.4f}; {fmt_s(seconds)}", target[0],
                verdict(target[1]), value=seconds, unit="s")
        res.add(7, f"{name}: time to scikit-learn's {best:.4f} / scikit-learn's fit time",
                "never reached" if to_sk is None else f"{fmt_s(to_sk)} / {fmt_s(sk_time)} = {fmt_x(to_sk / sk_time)}",
                value=to_sk)
    losses = [info["models"][f"relus:{n}"]["train_mse"] for n in (4, 8)]
    two = info["models"]["two_relu"]["train_mse"]
    res.add(7, "relus:N train MSE, N = 2, 4, 8", ", ".join(f"{v:.4f}" for v in [two, *losses]),
            "falls or stays", verdict(two >= losses[0] >= losses[1]))
    _recalc(res, info, reps)
    res.parts["7"] = info


def _recalc(res: Results, info: dict, reps: int) -> None:
    import xlsxwriter

    from titanic_reg.sheets.recalc import find_soffice, recalculate

    if not find_soffice() or not REFERENCE_XLSX.exists():
        res.add(7, "LibreOffice recalculation per model", "skipped: no LibreOffice or no lesson's workbook")
        return
    tmp = Path(tempfile.mkdtemp(prefix="titanic-bench-models-"))
    try:
        exe = entry_point()
        books = {}
        for name in PART7_MODELS:
            out = tmp / name.replace(":", "_")
            measure([exe, "fit", str(TRAIN_CSV), "--models", name, "--missing", "drop", "--valid-pct", "0",
                     "--test", "", "--out", str(out)], timeout=300)
            books[name] = out / "titanic.xlsx"
        empty = tmp / "empty.xlsx"
        wb = xlsxwriter.Workbook(str(empty))
        wb.add_worksheet("Sheet1")
        wb.close()
        books["empty"] = empty
        books["lesson's"] = tmp / "lesson.xlsx"
        strip_cached_values(REFERENCE_XLSX, books["lesson's"])

        def runner(path):
            def go():
                out = recalculate(path, timeout=600)
                shutil.rmtree(out.parent, ignore_errors=True)
            return go

        runner(empty)()  # warm-up
        times = interleaved({k: runner(p) for k, p in books.items()}, rounds=reps, warmup=0)
        base = median(times["empty"])
        net = {k: median(v) - base for k, v in times.items()}
        info["recalc"] = {"times": {k: summary(v) for k, v in times.items()}, "net_s": net,
                          "formula_cells": {k: count_formulas(p) for k, p in books.items()}}
        for name in PART7_MODELS:
            ratio = net[name] / net["lesson's"] if net["lesson's"] > 0 else float("nan")
            res.add(7, f"LibreOffice: {name} alone (712 rows, Descent sheet) / lesson's, net of start-up",
                    f"{fmt_s(net[name])} / {fmt_s(net['lesson' + chr(39) + 's'])} = {fmt_x(ratio)}, "
                    f"{info['recalc']['formula_cells'][name]:,} formula cells", value=ratio)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
