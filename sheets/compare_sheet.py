"""Compare: torch against the workbook, three engines on the linear optimum, baselines."""
from __future__ import annotations

import numpy as np

from titanic_reg.baselines import TITLES
from titanic_reg.features import FEATURE_NAMES
from titanic_reg.models import LINEAR, MODELS
from titanic_reg.train import OPTIMIZER_TITLES

from .layout import Writer, ref


def linest_formula(y: str, X: str) -> str:
    """Excel's least squares; with the Ones column as a feature, no extra constant."""
    return f"LINEST({y},{X},FALSE,FALSE)"


def write_compare(w: Writer, result, summaries: dict) -> None:
    ws, s = w.ws, w.s
    ws.set_column(0, 0, 30)
    ws.set_column(1, 12, 13)
    ws.write_string(0, 0, "Compare: what torch reported against what this workbook computes", s.title)
    if result.sample_of:
        ws.write_string(1, 0, f"This workbook holds a sample of {len(result.frame):,} of the "
                              f"{result.sample_of['rows']:,} rows: torch's and scikit-learn's figures are over "
                              "every row, the workbook's over the sample, so they differ a little.", s.note)

    # 1. Each model's loss: torch's figure, the workbook's formula, the difference.
    r = 2
    w.headers(r, 0, ["model", "torch train MSE", "workbook train MSE", "difference",
                     "torch valid MSE", "workbook valid MSE", "difference",
                     "workbook train acc", "workbook valid acc"])
    for model in MODELS.values():
        r += 1
        m, summary = result.metrics[model.name], summaries[model.name]
        ws.write_string(r, 0, model.title, s(None, None, bold=True))
        for k, split in enumerate(("train", "valid")):
            c = 1 + 3 * k
            if split not in summary.mse:
                ws.write_string(r, c, "no rows", s.note)
                continue
            ours = summary.values[split, "mse"]
            w.reported(r, c, m[f"{split}_mse"], "mse")
            w.formula(r, c + 1, summary.mse[split], ours, "mse")
            w.formula(r, c + 2, f"{ref(c + 1, r)}-{ref(c, r)}", ours - m[f"{split}_mse"], "diff")
        for k, split in enumerate(("train", "valid")):
            if split in summary.acc:
                w.formula(r, 7 + k, summary.acc[split], summary.values[split, "acc"], "acc")

    # 2. The linear optimum three ways: torch's fit, scikit-learn, LINEST.
    r += 3
    ws.write_string(r - 1, 0, "The linear model's optimum, three engines, one answer (training rows)",
                    s(None, None, bold=True))
    n_train = result.n_train
    Xn, yn = result.X[:n_train].numpy(), result.y[:n_train].numpy()
    coef, *_ = np.linalg.lstsq(Xn, yn, rcond=None)
    p = len(FEATURE_NAMES)
    # LINEST needs more rows than features and no feature that is a mix of others
    # (say, every passenger from one port); otherwise it answers #VALUE! or #NUM!.
    linest_ok = n_train > p and np.linalg.matrix_rank(Xn) == p
    linest_mse = float(np.mean((Xn @ coef - yn) ** 2))
    # LINEST lists coefficients last feature first: its raw output row, then feature order.
    linest_row = r + p + 4
    if linest_ok:
        w.headers(linest_row - 1, 1, list(reversed(FEATURE_NAMES)))
        ws.write_string(linest_row, 0, "LINEST(train_y, train_X) as returned", s())
        ws.write_array_formula(linest_row, 1, linest_row, p, "{=" + linest_formula("train_y", "train_X") + "}",
                               s("formula", "param"), float(coef[-1]))
        for j in range(1, p):
            ws.write_number(linest_row, 1 + j, float(coef[p - 1 - j]), s("formula", "param"))
    else:
        ws.write_string(linest_row, 0, f"LINEST is left out: {n_train} training rows of rank "
                                       f"{np.linalg.matrix_rank(Xn)} cannot pin down {p} coefficients", s.note)

    fitted_by = OPTIMIZER_TITLES[result.settings["models"][LINEAR.name]["optimizer"]]
    w.headers(r, 0, ["feature", f"torch ({fitted_by})", "scikit-learn LinearRegression",
                     "Excel LINEST", "torch - sklearn", "LINEST - sklearn"])
    sk = result.metrics["sklearn_linear"]["params"]
    gd = result.models[LINEAR.name].params.numpy()[0]
    for j, name in enumerate(FEATURE_NAMES):
        rr = r + 1 + j
        ws.write_string(rr, 0, name, s())
        w.formula(rr, 1, f"INDEX({LINEAR.weights[0]},1,{j + 1})", gd[j], "param")
        w.reported(rr, 2, sk[j], "param")
        w.formula(rr, 4, f"{ref(1, rr)}-{ref(2, rr)}", gd[j] - sk[j], "diff")
        if linest_ok:
            w.formula(rr, 3, ref(p - j, linest_row), coef[j], "param")
            w.formula(rr, 5, f"{ref(3, rr)}-{ref(2, rr)}", coef[j] - sk[j], "diff")
    rr = r + 1 + p
    sk_mse = result.metrics["sklearn_linear"]["train_mse"]
    ws.write_string(rr, 0, "train MSE", s(None, None, bold=True))
    gd_mse = summaries[LINEAR.name].values["train", "mse"]
    w.formula(rr, 1, summaries[LINEAR.name].mse["train"], gd_mse, "mse")
    w.reported(rr, 2, sk_mse, "mse")
    w.formula(rr, 4, f"{ref(1, rr)}-{ref(2, rr)}", gd_mse - sk_mse, "diff")
    if linest_ok:
        w.formula(rr, 3, "INDEX(LINEST(train_y,train_X,FALSE,TRUE),5,2)/ROWS(train_y)", linest_mse, "mse")
        w.formula(rr, 5, f"{ref(3, rr)}-{ref(2, rr)}", linest_mse - sk_mse, "diff")

    # 3. Every model and baseline: accuracy, speed, size.
    r = linest_row + 3
    ws.write_string(r - 1, 0, "Models and baselines (as fitted by torch and scikit-learn)",
                    s(None, None, bold=True))
    w.headers(r, 0, ["model", "train MSE", "valid MSE", "train acc", "valid acc", "parameters", "fit ms"])
    for name, m in result.metrics.items():
        r += 1
        ws.write_string(r, 0, m.get("title", TITLES.get(name, name)), s())
        for c, key, fmt in ((1, "train_mse", "mse"), (2, "valid_mse", "mse"), (3, "train_acc", "acc"),
                            (4, "valid_acc", "acc"), (5, "n_params", "int")):
            w.reported(r, c, m[key], fmt)
        ws.write_string(r, 6, "in metrics.json", s.note)  # timings vary run to run; the workbook's bytes must not
    ws.write_string(r + 2, 0, f"submission.csv comes from: {result.submit_model}", s.note)
    ws.freeze_panes(1, 1)
