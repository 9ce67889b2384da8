"""The lesson's three questions for every model and baseline (issue 19): how accurate, how
fast (fit time, prediction time per 1,000 rows), how big (parameters, size in bytes): in
metrics.json, the printed tables, result.scores, the Compare sheet and compare.png."""
from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import openpyxl
import pytest
import torch

import titanic_reg
from titanic_reg import costs, datasets
from titanic_reg.compare_figure import compare_figure, compare_plot, draw_compare
from titanic_reg.report import metrics_json, table

NEW_KEYS = ("predict_ms_per_1000", "size_bytes")


@pytest.fixture(scope="module")
def digits_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return titanic_reg.fit(datasets.mnist37().train_path, target="digit", descent_steps=0)


@pytest.fixture(scope="module")
def number_fit():
    """A number target, every row training: R² on the training rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return titanic_reg.fit("data/penguins.csv", target="body_mass_g", models="linear,mlp:3", valid_pct=0,
                               descent_steps=0)


def test_prediction_time_is_the_median_of_repeated_predictions_of_the_same_rows(monkeypatch):
    calls = []

    def predict(rows):
        calls.append(len(rows))

    # A clock that moves 1, 2, 1, 9, 1 seconds over the five predictions: the median is 1 s.
    ticks = iter([0.0, 1.0, 10.0, 12.0, 20.0, 21.0, 30.0, 39.0, 40.0, 41.0])
    monkeypatch.setattr(costs.time, "perf_counter", lambda: next(ticks))
    X = np.zeros((25_000, 3))
    ms = costs.predict_ms_per_1000(predict, X)
    assert calls == [costs.TIMING_ROWS] * costs.REPEATS  # at most TIMING_ROWS rows, five times
    assert ms == pytest.approx(1e6 * 1.0 / costs.TIMING_ROWS)  # 1 s for 10,000 rows: 100 ms per 1,000


def test_timing_runs_on_one_thread_and_gives_torch_its_threads_back():
    before = torch.get_num_threads()
    seen = []
    costs.predict_ms_per_1000(lambda rows: seen.append(torch.get_num_threads()), np.zeros((10, 2)))
    assert seen == [1] * costs.REPEATS
    assert torch.get_num_threads() == before


def test_sizes_are_the_numbers_held():
    assert costs.tensor_bytes(torch.zeros(10, dtype=torch.float64)) == 80
    assert costs.tensor_bytes(np.zeros((2, 784))) == 2 * 784 * 8
    assert costs.numbers_bytes(2) == 16


def _every_row(result):
    return {**{n: r.scores for n, r in result.runs.items()}, **{n: b.scores for n, b in result.baselines.items()}}


@pytest.mark.parametrize("which", ["default_fit", "digits_fit", "number_fit"])
def test_every_model_and_baseline_answers_the_three_questions(which, request):
    result = request.getfixturevalue(which)
    rows = _every_row(result)
    assert len(rows) >= 5
    for name, m in rows.items():
        for key in (*NEW_KEYS, "fit_seconds"):
            assert m[key] > 0, (name, key)
        assert isinstance(m["size_bytes"], int)
    for name, run in result.runs.items():
        assert rows[name]["size_bytes"] == 8 * run.trained.params.numel()  # float64 parameters
    metrics = metrics_json(result)
    for part in ("models", "baselines"):
        for name, m in metrics[part].items():
            assert {k: m[k] for k in NEW_KEYS} == {k: rows[name][k] for k in NEW_KEYS}


def test_the_baselines_sizes_are_their_fitted_estimators_pickled(default_fit):
    from sklearn.linear_model import LinearRegression

    n = default_fit.n_train
    X, y = default_fit.X[:n].numpy(), default_fit.y[:n].numpy()
    again = LinearRegression(fit_intercept=False).fit(X, y)  # the same fit, deterministic
    assert default_fit.baselines["sklearn_linear"].scores["size_bytes"] == len(pickle.dumps(again, protocol=5))
    sizes = {name: b.scores["size_bytes"] for name, b in default_fit.baselines.items()}
    assert sizes["everyone_dies"] == 8 and sizes["women_survive"] == 16  # a constant; a feature and its value
    assert default_fit.baselines["sklearn_gbm"].scores["n_params"] is None  # trees: no count of weights
    assert sizes["sklearn_gbm"] > sizes["sklearn_mlp"] > sizes["sklearn_linear"]


def test_the_mean_images_size_is_two_images(digits_fit):
    for name in ("pixel_l1", "pixel_l2"):
        assert digits_fit.baselines[name].scores["size_bytes"] == 2 * 784 * 8


@pytest.mark.parametrize("which, key", [("default_fit", "valid_acc"), ("digits_fit", "valid_acc"),
                                        ("number_fit", "train_r2")])
def test_the_pictures_points_are_the_metrics(which, key, request):
    result = request.getfixturevalue(which)
    plot = compare_plot(result)
    json.dumps(plot)  # plain data, for the background process
    rows = _every_row(result)
    assert [p["name"] for p in plot["points"]] == list(rows) and plot["left_out"] == []
    for p in plot["points"]:
        m = rows[p["name"]]
        assert (p["score"], p["fit_seconds"], p["size_bytes"]) == (m[key], m["fit_seconds"], m["size_bytes"])
        assert p["group"] == ("ours" if p["name"] in result.runs else
                              "sklearn" if p["name"].startswith("sklearn_") else "other")
    assert plot["ylabel"] == {"valid_acc": "validation accuracy", "train_r2": "training R²"}[key]


def test_a_baseline_that_could_not_be_fitted_is_left_out_and_named(default_fit):
    import copy

    result = copy.copy(default_fit)
    from titanic_reg.result import Baseline

    broken = Baseline("sklearn_logistic", {"title": "x", "valid_acc": None, "fit_seconds": 0.1,
                                                               "size_bytes": None, "error": "one class"})
    result.baselines = {**default_fit.baselines, "sklearn_logistic": broken}
    plot = compare_plot(result)
    assert plot["left_out"] == ["sklearn_logistic"]
    assert "sklearn_logistic" not in [p["name"] for p in plot["points"]]
    fig = compare_figure(plot)
    assert any("sklearn_logistic" in t.get_text() for t in fig.texts)


@pytest.mark.parametrize("which", ["default_fit", "number_fit"])
def test_the_figure_has_labelled_axes_and_every_point_named(which, request):
    result = request.getfixturevalue(which)
    plot = compare_plot(result)
    ax = compare_figure(plot).axes[0]
    assert ax.get_xlabel() == "fit time, seconds (log axis)" and ax.get_xscale() == "log"
    assert ax.get_ylabel().startswith(plot["ylabel"]) and "how accurate, how fast, how big" in ax.get_title()
    names = [t.get_text().split(" (")[0] for t in ax.texts]
    assert sorted(names) == sorted(p["name"] for p in plot["points"])
    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    assert sorted(xs.tolist()) == sorted(p["fit_seconds"] for p in plot["points"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "our models (torch)" in legend and "scikit-learn" in legend


def test_the_background_process_draws_compare_png_as_this_process_would(default_fit, tmp_path):
    from titanic_reg import report
    from titanic_reg.background import Worker

    X, y = default_fit.X.numpy(), default_fit.y.numpy()
    plot = compare_plot(default_fit)
    with Worker() as worker:
        worker.submit(dict(X_train=X, y_train=y, X_valid=X[:0], y_valid=y[:0], X_test=None, seed=1))
        worker.result()
        worker.draw(report.loss_plot(default_fit), plot)
        worker.drawn_compare(tmp_path / "there.png")  # asked for first: the loss answer is kept
        worker.drawn(tmp_path / "loss.png")
    draw_compare(plot, tmp_path / "here.png")
    there = (tmp_path / "there.png").read_bytes()
    assert there[:8] == b"\x89PNG\r\n\x1a\n" and there == (tmp_path / "here.png").read_bytes()
    report.draw_loss(report.loss_plot(default_fit), tmp_path / "loss_here.png")
    assert (tmp_path / "loss.png").read_bytes() == (tmp_path / "loss_here.png").read_bytes()


def test_the_background_process_runs_this_package_from_any_folder(default_fit, tmp_path, monkeypatch):
    """Run from another folder, the process found the titanic_reg installed in the environment
    (where there is one), not this clone's: its baselines had no sizes."""
    from titanic_reg import baselines
    from titanic_reg.background import Worker

    X, y = default_fit.X.numpy(), default_fit.y.numpy()
    job = dict(X_train=X[:500], y_train=y[:500], X_valid=X[500:], y_valid=y[500:], X_test=None, seed=1)
    monkeypatch.chdir(tmp_path)
    with Worker() as worker:
        worker.submit(job)
        there = worker.result()[0]
    here = baselines.fit_and_predict(**job)[0]
    assert {n: m["size_bytes"] for n, m in there.items()} == {n: m["size_bytes"] for n, m in here.items()}


def test_the_tables_scores_and_notebook_view_answer_all_three(default_fit):
    from rich.console import Console

    console = Console(record=True, width=80)
    console.print(table(default_fit))
    text = console.export_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert "How fast and how big" in text and "predict ms" in text and "size KB" in text
    gbm = next(line for line in text.splitlines() if line.startswith(" sklearn_gbm") and "trees" in line)
    assert f"{default_fit.baselines['sklearn_gbm'].scores['size_bytes'] / 1000:,.0f}" in gbm
    scores = default_fit.scores
    for name, m in _every_row(default_fit).items():
        assert scores.loc[name, "size_kb"] == m["size_bytes"] / 1000
        assert scores.loc[name, "predict_ms_per_1000"] == m["predict_ms_per_1000"]
    html = default_fit._repr_html_()
    assert html.count("<img") == 2 and "accuracy against fit time and size" in html


def test_the_compare_sheet_holds_the_sizes_and_no_times(default_fit, tmp_path):
    path = default_fit.to_excel(tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["Compare"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    head = next(i for i, row in enumerate(cells) if "model size (KB)" in row)
    size_col, param_col = cells[head].index("model size (KB)"), cells[head].index("parameters")
    titles = {m.get("title", n): m for n, m in _every_row(default_fit).items()}
    found = {}
    for row in cells[head + 1:]:
        if row[0] in titles:
            found[row[0]] = row
    assert set(found) == set(titles)
    for title, row in found.items():
        assert row[size_col] == titles[title]["size_bytes"] / 1000
        assert row[param_col] == (titles[title]["n_params"] if titles[title]["n_params"] is not None
                                  else "none: trees")
        assert row[size_col + 1] == "see metrics.json"
    numbers = {c for row in cells for c in row if isinstance(c, float)}
    times = {m[k] for m in titles.values() for k in ("fit_seconds", "predict_ms_per_1000")}
    assert not numbers & times and not numbers & {1000 * t for t in times}


# One run on the digits, its timings fixed: names crowd at the top (sklearn_mlp and logistic
# at one accuracy, a second apart), where a name's first places overlap others.
DIGITS = [("logistic", "ours", 0.985, 0.9883, 6280), ("linear", "ours", 0.885, 0.3552, 6280),
          ("sklearn_linear", "sklearn", 0.9, 0.1181, 12936), ("sklearn_logistic", "sklearn", 0.98, 0.0063, 6917),
          ("sklearn_mlp", "sklearn", 0.985, 0.1156, 411086), ("sklearn_gbm", "sklearn", 0.98, 2.7815, 764786),
          ("pixel_l1", "other", 0.915, 0.0214, 12544), ("pixel_l2", "other", 0.97, 0.0078, 12544),
          ("majority", "other", 0.48, 0.0004, 8)]


@pytest.mark.parametrize("points", [DIGITS, [(f"m{k}", "ours", 0.8, 1.0 + 0.01 * k, 80) for k in range(6)]],
                         ids=["digits", "six at one place"])
def test_no_name_covers_another_or_a_marker(points):
    from matplotlib.text import Text

    plot = {"points": [dict(zip(("name", "group", "score", "fit_seconds", "size_bytes"), p)) for p in points],
            "left_out": [], "r2": False, "xlabel": "x", "ylabel": "y", "title": "t"}
    fig = compare_figure(plot)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]  # the names alone, not their lines
    assert sorted(t.get_text() for t in ax.texts) == sorted(p[0] for p in points)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    inside = ax.get_window_extent(renderer)
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1 for b in boxes)
