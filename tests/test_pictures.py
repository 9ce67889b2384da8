"""The pictures: loss.png (report.loss_figure) and the workbook's Charts sheet (its chart XML)."""
import io
import pickle
import re
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
import pytest

from titanic_reg import report, ticks

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
PLAIN = re.compile(r"\d{1,3}(,\d{3})*(\.\d+)?")  # 0.12, 1, 1,000: no 10^-1, no 1e-1


@pytest.fixture(scope="module")
def small_fits():
    """Other data, targets and models, small runs: their losses lie elsewhere than the lesson's."""
    import titanic_reg

    small = {"epochs": 50, "restarts": 8, "descent_steps": 4, "baselines": None}
    return {
        "sex": titanic_reg.fit("data/penguins.csv", target="sex", **small),
        "body_mass_g": titanic_reg.fit("data/penguins.csv", target="body_mass_g", **small),
        "many": titanic_reg.fit("data/train.csv", models="linear,two_relu,relus:4,mlp:8", **small),
    }


def _figure(result):
    fig = report.loss_figure(report.loss_plot(result))
    fig.canvas.draw()
    (ax,) = fig.axes
    return fig, ax


def _labels(axis) -> list[tuple[float, str]]:
    return [(t.get_loc(), t.label1.get_text()) for t in axis.get_major_ticks()]


def _plain(obj) -> bool:
    if isinstance(obj, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_plain(v) for v in obj)
    return obj is None or type(obj) in (str, int, float, bool)


# --------------------------------------------------------------------------- loss.png


def test_loss_plot_data_is_plain_and_pickles(default_fit):
    plot = report.loss_plot(default_fit)
    assert _plain(plot), plot  # sent to the background process (background.py)
    assert pickle.loads(pickle.dumps(plot)) == plot
    assert [c["history"] for c in plot["curves"]] == [list(map(float, r.trained.history)) for r in default_fit.runs.values()]


def test_loss_figure_has_one_log_step_axis_from_step_1(default_fit):
    fig, ax = _figure(default_fit)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(fig.axes) == 1  # one axis for every model's steps: no change of scale, no kink
    lines = {line.get_label(): line for line in ax.get_lines()}
    linear = next(line for label, line in lines.items() if label.startswith("Linear"))
    relu = next(line for label, line in lines.items() if label.startswith("Two ReLUs"))
    history = default_fit.runs["linear"].trained.history
    # Conjugate gradient's dozen steps, each one plotted (step 0 has no place on a log axis).
    assert 5 < len(history) - 1 < 30
    assert list(linear.get_xdata()) == list(range(1, len(history)))
    assert list(linear.get_ydata()) == pytest.approx(history[1:])
    assert list(relu.get_xdata())[-1] == len(default_fit.runs["two_relu"].trained.history) - 1 == 1000
    assert ax.get_xlim() == pytest.approx((1, 1000))
    x = _labels(ax.xaxis)
    assert [label for _, label in x] == ["1", "2", "5", "10", "20", "50", "100", "200", "500", "1,000"]


def test_loss_ticks_are_plain_decimals_where_the_losses_lie(default_fit):
    _, ax = _figure(default_fit)
    y = _labels(ax.yaxis)
    assert y and all(PLAIN.fullmatch(label) for _, label in y), y
    assert all(float(label) == pytest.approx(loc) for loc, label in y)
    # The Titanic run's losses lie between about 0.12 and 0.25: several ticks there.
    inside = [loc for loc, _ in y if 0.12 <= loc <= 0.25]
    assert len(inside) >= 3, y
    low, high = ax.get_ylim()
    shown = [v for run in default_fit.runs.values() for v in run.trained.history[1:]] + [default_fit.optimum.mse]
    assert low <= min(shown) and max(shown) <= high
    assert not ax.yaxis.get_minor_ticks() or all(not t.label1.get_text() for t in ax.yaxis.get_minor_ticks())


def test_loss_legend_names_both_optimizers_and_the_optimum(default_fit):
    _, ax = _figure(default_fit)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("Linear, conjugate gradient") for t in texts), texts
    assert any(t.startswith("Two ReLUs, Adam") for t in texts), texts
    # Each entry: loss at the start (step 0, off the log axis) -> at the end.
    linear = next(t for t in texts if t.startswith("Linear"))
    start, end = default_fit.runs["linear"].trained.history[0], default_fit.metrics["linear"]["train_mse"]
    assert f"{start:.4f} \u2192 {end:.4f}" in linear
    optimum = [line for line in ax.get_lines() if "closed form" in line.get_label()]
    assert len(optimum) == 1 and optimum[0].get_ydata()[0] == pytest.approx(default_fit.optimum.mse)


@pytest.mark.parametrize("run", ["sex", "body_mass_g", "many"])
def test_loss_ticks_follow_other_runs_losses(small_fits, run):
    result = small_fits[run]
    _, ax = _figure(result)
    y = _labels(ax.yaxis)
    assert 3 <= len(y) <= 9 and all(PLAIN.fullmatch(label) for _, label in y), y
    shown = [v for run in result.runs.values() for v in run.trained.history[1:]]
    if result.optimum:
        shown.append(result.optimum.mse)
    low, high = ax.get_ylim()
    assert low <= min(shown) and max(shown) <= high
    assert (high / low) < 3 * (max(shown) / min(shown))  # the data's range, not a fixed one
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    for name, run in result.runs.items():
        from titanic_reg.train import OPTIMIZER_TITLES

        title = result.metrics[name]["title"]
        assert any(t.startswith(f"{title}, {OPTIMIZER_TITLES[run.config.optimizer]}") for t in texts), texts


def test_number_target_ticks_differ_from_the_lessons(small_fits, default_fit):
    def ticks(result):
        return [label for _, label in _labels(_figure(result)[1].yaxis)]

    assert ticks(small_fits["body_mass_g"]) != ticks(default_fit)


def test_log_ticks():
    assert ticks.log_ticks(0.129, 0.383) == [0.12, 0.15, 0.2, 0.25, 0.3, 0.4]
    wide = ticks.log_ticks(1e-5, 3.0)
    assert wide[0] <= 1e-5 and wide[-1] >= 3 and len(wide) <= ticks.MOST_TICKS
    flat = ticks.log_ticks(0.145, 0.145)
    assert flat[0] < 0.145 < flat[-1] and len(flat) >= 3
    assert [ticks.tick_label(v) for v in (0.12, 0.5, 1.0, 1000.0, 1e-7)] == ["0.12", "0.5", "1", "1,000", "1e-07"]
    assert ticks.step_ticks(12) == [1, 2, 5, 10]


def test_draw_loss_writes_a_png(default_fit):
    png = io.BytesIO()
    report.draw_loss(report.loss_plot(default_fit), png)
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the Charts sheet


def _charts(path) -> dict[str, ET.Element]:
    """Each chart of the workbook by its title."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r"xl/charts/chart\d+\.xml", name):
                root = ET.fromstring(z.read(name))
                title = root.find(f"{C}chart/{C}title")
                out["".join(t.text or "" for t in title.iter(f"{A}t"))] = root
    return out


def _axes(chart) -> dict[str, ET.Element]:
    """The chart's value axes by position: 'b' (x) and 'l' (y)."""
    return {ax.find(f"{C}axPos").get("val"): ax for ax in chart.iter(f"{C}valAx")}


def _scaling(axis, what):
    found = axis.find(f"{C}scaling/{C}{what}")
    return None if found is None else float(found.get("val"))


def _series(chart) -> list[dict]:
    out = []
    for ser in chart.iter(f"{C}ser"):
        out.append({"name": "".join(ser.find(f"{C}tx").itertext()),
                    "x": ser.find(f"{C}xVal//{C}f").text, "y": ser.find(f"{C}yVal//{C}f").text})
    return out


@pytest.fixture(scope="module")
def written(default_fit, small_fits, tmp_path_factory):
    from titanic_reg.sheets.workbook import write_workbook

    folder = tmp_path_factory.mktemp("pictures")
    return {run: write_workbook(result, folder / f"{run}.xlsx")
            for run, result in [("titanic", default_fit), *small_fits.items()]}


def test_workbook_loss_chart_has_a_log_step_axis_with_every_model(default_fit, written):
    charts = _charts(written["titanic"])
    loss = next(chart for title, chart in charts.items() if title.startswith("Training loss by step"))
    x, y = _axes(loss)["b"], _axes(loss)["l"]
    assert _scaling(x, "logBase") == 10 and _scaling(x, "min") == 1 and _scaling(x, "max") == 1000
    # The Titanic losses (0.13 to 0.4 from step 1) on a plain axis with round bounds.
    assert _scaling(y, "logBase") is None and _scaling(y, "min") == 0.1 and _scaling(y, "max") == 0.4
    series = _series(loss)
    assert [s["name"] for s in series] == ["Linear (conjugate gradient)", "Two ReLUs (Adam)"]
    # Both from step 1 (Excel row 5 of Losses; row 4 is step 0, which a log axis cannot show).
    n_linear = len(default_fit.runs["linear"].trained.history)
    assert series[0]["x"] == f"Losses!$A$5:$A${3 + n_linear}" and series[0]["y"] == f"Losses!$B$5:$B${3 + n_linear}"
    assert series[1]["x"] == "Losses!$A$5:$A$1004" and series[1]["y"] == "Losses!$C$5:$C$1004"
    losses = openpyxl.load_workbook(written["titanic"])["Losses"]
    assert losses["A4"].value == 0 and losses["A5"].value == 1
    assert losses[f"B{3 + n_linear}"].value == pytest.approx(default_fit.runs["linear"].trained.history[-1])


@pytest.mark.parametrize("run", ["sex", "body_mass_g", "many"])
def test_workbook_loss_chart_other_runs(small_fits, written, run):
    loss = next(chart for title, chart in _charts(written[run]).items() if title.startswith("Training loss"))
    assert _scaling(_axes(loss)["b"], "logBase") == 10
    names = [s["name"] for s in _series(loss)]
    assert names[0] == "Linear (conjugate gradient)" and len(names) == len(small_fits[run].runs)
    assert all(s["x"].startswith("Losses!$A$5:") for s in _series(loss))


@pytest.mark.parametrize("run", ["titanic", "sex", "many"])
def test_calibration_runs_from_0_to_1(written, run, default_fit, small_fits):
    result = default_fit if run == "titanic" else small_fits[run]
    cal = _charts(written[run])["Predicted against observed (training rows)"]
    x = _axes(cal)["b"]
    assert _scaling(x, "min") == 0 and _scaling(x, "max") == 1
    ws = openpyxl.load_workbook(written[run], data_only=True)["Charts"]
    assert [ws.cell(r, 1).value for r in range(25, 35)] == pytest.approx([k / 10 for k in range(10)])
    assert [ws.cell(r, 2).value for r in range(25, 35)] == pytest.approx([k / 10 for k in range(1, 11)])
    assert ws["A25"].value == 0 and ws["B34"].value == 1  # not -100 and 100
    assert [ws.cell(r, 3).value for r in range(25, 35)] == pytest.approx([k / 10 + 0.05 for k in range(10)])
    # The end bins are open: every training row is in one bin, for each model.
    for k in range(len(result.runs)):
        assert sum(ws.cell(r, 4 + 2 * k).value for r in range(25, 35)) == result.n_train
    series = _series(cal)
    assert all(s["x"] == "Charts!$C$25:$C$34" for s in series[:-1])
    assert series[-1]["name"] == "perfect calibration"
    assert [ws[c].value for c in ("A37", "B37", "A38", "B38")] == [0, 0, 1, 1]
    assert series[-1]["x"] == "Charts!$A$37:$A$38" and series[-1]["y"] == "Charts!$B$37:$B$38"
    formulas = openpyxl.load_workbook(written[run])["Charts"]
    assert '">="' not in formulas["D25"].value and '"<"&B25' in formulas["D25"].value  # all below 0.1
    assert '"<"' not in formulas["D34"].value and '">="&A34' in formulas["D34"].value  # all from 0.9


def test_calibration_chart_sits_beside_the_table(written):
    with zipfile.ZipFile(written["many"]) as z:
        drawing = next(z.read(n).decode() for n in z.namelist() if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)
                       and "chart" in z.read(n).decode() and "<xdr:row>24</xdr:row>" in z.read(n).decode())
    # Four models: the table runs to column K (index 10); the chart starts after it.
    starts = [int(c) for c in re.findall(r"<xdr:from><xdr:col>(\d+)</xdr:col>", drawing)]
    assert max(starts) >= 11


def test_a_perfect_fit_draws(tmp_path):
    """Two rows: the losses reach 0 (and 1e-31): no log of zero, the axis stops where rounding starts."""
    plot = {"curves": [{"label": "Linear, conjugate gradient", "optimizer": "conjugate gradient",
                        "history": [0.68, 0.3, 0.0]},
                       {"label": "Two ReLUs, Adam", "optimizer": "Adam", "history": [0.1, 0.02, 1e-5, 1e-20, 0.0]}],
            "optimum": 1.2e-31, "ylabel": "training MSE", "title": "two rows"}
    fig = report.loss_figure(plot)
    fig.canvas.draw()
    low, high = fig.axes[0].get_ylim()
    assert 0 < low <= 0.3 * report.FLOOR and high >= 0.3
    report.draw_loss(plot, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
