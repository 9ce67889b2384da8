"""notebooks/lesson3.ipynb: run top to bottom in a real Jupyter kernel, and what its cells show.

The kernel is this interpreter (a kernelspec written to a temporary folder, first on
JUPYTER_PATH, so that no other `python3` kernel on the machine is picked up), with the
repository first on its path, as pytest has it. The notebook runs in a temporary folder:
that is where its workbook goes.
"""
from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "lesson3.ipynb"
KERNEL = "titanic-reg-test"
# Appended to the executed copy only: which Python the kernel runs.
PROBE = "import sys; print(repr((sys.executable, sys.prefix)))"


def _kernelspec(folder: Path) -> None:
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "titanic-reg tests", "language": "python"}))


def execute(notebook: Path, tmp_path_factory, probe: bool = False):
    """The notebook executed in a real kernel of this interpreter (nbclient raises
    CellExecutionError at the first failing cell), and the folder it ran in."""
    folder = tmp_path_factory.mktemp("notebook-cwd")
    jupyter = tmp_path_factory.mktemp("jupyter")
    _kernelspec(jupyter)
    nb = nbformat.read(notebook, as_version=4)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(jupyter / "runtime"))
        mp.setenv("IPYTHONDIR", str(jupyter / "ipython"))  # no profile or startup file of the user's
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # figures as image/png
        # A font list of the kernel's own: the user's cache (one per matplotlib version, shared
        # by every environment) once lacked matplotlib's own fonts, and the notebook's mathtext
        # title then printed "findfont: Font family ['STIXGeneral'] not found".
        mp.setenv("MPLCONFIGDIR", str(jupyter / "matplotlib"))
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=900,
                                         resources={"metadata": {"path": str(folder)}})
        client.execute()
    return nb, folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return execute(NOTEBOOK, tmp_path_factory, probe=True)


def cell(nb, start: str, whole: bool = False):
    """The one code cell whose source starts with `start` (is `start`, if whole)."""
    found = [c for c in nb.cells if c.cell_type == "code"
             and (c.source.strip() == start if whole else c.source.startswith(start))]
    assert len(found) == 1, f"{len(found)} code cells start with {start!r}"
    return found[0]


def data(c, mime: str) -> list[str]:
    return [o["data"][mime] for o in c.outputs if mime in o.get("data", {})]


def stdout(c) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def result_output(c):
    (shown,) = [o for o in c.outputs if o.output_type == "execute_result"]
    return shown


# --------------------------------------------------------------------------- the file as committed


def test_the_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for c in code:
        assert c.outputs == [], f"outputs left in: {c.source[:60]!r}"
        assert c.execution_count is None, f"execution_count left in: {c.source[:60]!r}"
    assert "widgets" not in nb.metadata  # no saved widget state either


def test_every_section_is_there():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert [h.split(".")[0] for h in headings] == [f"## {i}" for i in range(1, 9)]


# --------------------------------------------------------------------------- running it


@pytest.mark.slow
def test_it_runs_in_this_environments_python(run):
    nb, _ = run
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    executable, prefix = eval(stdout(nb.cells[-1]).strip())
    assert (executable, prefix) == (sys.executable, sys.prefix)


@pytest.mark.slow
def test_the_plots_show(run):
    nb, _ = run
    for start in ("plot_function(f,", "plt.scatter(x, y);", "plot_quad(1.1, 1.1, 1.1)",
                  "plot_function(partial(rectified_linear, 1, 1))", "plot_double_relu(", "plt.scatter(x, y)\n"):
        assert data(cell(nb, start), "image/png"), start


@pytest.mark.slow
def test_the_lessons_mae_loop_falls_its_mse_variant_rises_again_and_the_zeroed_one_does_not(run):
    nb, _ = run
    losses = lambda c: [float(v) for v in re.findall(r"^step=\d+; loss=([\d.]+)$", stdout(c), re.M)]
    lesson = cell(nb, "for i in range(10):")  # the lesson's loop, exactly as written: the MAE
    assert "loss = quad_mae(abc)" in lesson.source and "zero_" not in lesson.source
    # The Kaggle notebook's own numbers, after its step by hand from 1.1, 1.1, 1.1.
    assert losses(lesson) == [2.40, 2.36, 2.30, 2.21, 2.11, 1.98, 1.85, 1.72, 1.58, 1.46]
    start = "abc = torch.tensor([1.1,1.1,1.1])\nabc.requires_grad_()\nfor i in range(10):\n    loss = quad_mse(abc)"
    (variant,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start) and "zero_" not in c.source]
    (zeroed,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start) and "zero_" in c.source]
    before = nb.cells[nb.cells.index(variant) - 1].source
    assert "### Our variant: the same loop with the MSE" in before and "not in the lesson" in before
    variant, zeroed = losses(variant), losses(zeroed)
    assert len(variant) == len(zeroed) == 10
    assert any(b > a for a, b in zip(variant, variant[1:]))
    assert all(b < a for a, b in zip(zeroed, zeroed[1:]))
    rises = stdout(cell(nb, 'print(f"never zeroed'))
    assert re.search(r"never zeroed: the loss first rises at step \d+\n", rises)
    assert "zeroed:       the loss first rises at step never" in rises


@pytest.mark.slow
def test_the_converged_fit_matches_the_closed_form(run):
    nb, _ = run
    text = data(cell(nb, "quad_fit = fit_quad()"), "text/plain")[0]
    assert ", converged;" in text
    fitted = re.search(r"a=([-\d.e]+), b=([-\d.e]+), c=([-\d.e]+),", text).groups()
    closed = re.search(r"closed form ([-\d.e]+), ([-\d.e]+), ([-\d.e]+)\)", text).groups()
    assert [float(v) for v in fitted] == pytest.approx([float(v) for v in closed], abs=1e-5)


@pytest.mark.slow
def test_the_sliders_render_as_widgets(run):
    nb, _ = run
    for start in ("interact_quad()", "interact_relu()", "interact_double_relu()"):
        c = cell(nb, start)
        assert data(c, "application/vnd.jupyter.widget-view+json"), start
        assert not [o for o in c.outputs if o.output_type == "stream" and o.name == "stderr"], start


@pytest.mark.slow
def test_the_fit_shows_its_table_and_loss_curves(run):
    nb, _ = run
    html = result_output(cell(nb, "result = titanic_reg.fit(")).data["text/html"]
    assert "<table" in html
    assert "<img" in html and "data:image/png;base64," in html
    for model in ("linear", "two_relu", "sklearn_linear", "everyone_dies", "women_survive"):
        assert f"<th>{model}</th>" in html or f"<th>{model} *</th>" in html, model
    assert html.count(" *</th>") == 1  # the model predict() uses, marked as in the command's table
    scores = result_output(cell(nb, "result.scores", whole=True)).data["text/html"]
    assert "valid_mse" in scores and "train_acc" in scores


@pytest.mark.slow
def test_the_fit_is_shown_once_after_a_progress_line_per_model(run):
    nb, _ = run
    shown = [o for o in cell(nb, "result = titanic_reg.fit(").outputs if o.output_type != "stream"]
    assert [o.output_type for o in shown] == ["display_data", "display_data", "execute_result"]
    assert "two_relu" in shown[-1].data["text/plain"]
    # Each model's line, redrawn in place while it trained, ends finished.
    lines = [o.data["text/plain"] for o in shown[:-1]]
    assert [line.split()[0] for line in lines] == ["linear", "two_relu"], lines
    for line in lines:
        assert re.fullmatch(r"\S+ +█+ ([\d,]+)/\1 steps, \d+\.\d s", line), line


@pytest.mark.slow
def test_a_new_passenger_gets_a_prediction_and_a_score(run):
    nb, _ = run
    text = result_output(cell(nb, "result.predict({")).data["text/plain"]
    header, row = text.strip().splitlines()
    assert header.split() == ["row", "prediction", "score"]
    _, _, prediction, score = row.split()
    assert int(prediction) == int(float(score) > 0.5)
    assert 0 <= float(score) <= 1
    test = result_output(cell(nb, "result.predict(titanic.test).head()")).data["text/plain"]
    assert test.splitlines()[0].split() == ["PassengerId", "prediction", "score"]
    assert [line.split()[1] for line in test.splitlines()[1:]] == ["892", "893", "894", "895", "896"]


@pytest.mark.slow
def test_the_workbook_is_written_in_the_notebooks_folder_and_read_back(run):
    nb, folder = run
    workbook = folder / "titanic.xlsx"
    assert zipfile.is_zipfile(workbook)
    assert not (NOTEBOOK.parent / "titanic.xlsx").exists()
    sheets = data(cell(nb, 'path = result.to_excel("titanic.xlsx")'), "text/plain")[0]
    for sheet in ("'Data'", "'TwoReLU'", "'Compare'"):
        assert sheet in sheets
    two_relu = data(cell(nb, 'titanic_reg.read_sheet(path, "TwoReLU")'), "text/plain")[0]
    assert "ReLU1" in two_relu and "Preds" in two_relu
    compare = data(cell(nb, 'titanic_reg.read_sheet(path, "Compare")'), "text/plain")[0]
    assert "Two ReLUs" in compare
    plain = data(cell(nb, 'pd.read_excel(path, sheet_name="Data", header=4'), "text/html")[0]
    assert "<th>PassengerId</th>" in plain and "<th>Survived</th>" in plain


@pytest.mark.slow
def test_the_penguins_are_fitted_too(run):
    nb, _ = run
    html = result_output(cell(nb, 'titanic_reg.fit(penguins.train_path, target="sex")')).data["text/html"]
    assert "<table" in html and "<th>majority</th>" in html


@pytest.mark.slow
def test_no_warning_but_the_data_warnings(run):
    # The notebook's stderr holds only the InputWarnings it explains (one Fare missing in
    # test.csv, penguins without a sex); a FutureWarning or a ConvergenceWarning would be noise.
    nb, _ = run
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for o in c.outputs:
            if o.output_type == "stream" and o.name == "stderr":
                warnings = re.findall(r"(\w+Warning):", o.text)
                assert warnings and set(warnings) == {"InputWarning"}, (c.source[:60], o.text)
