"""notebooks/mnist_basics.ipynb (fastbook chapter 4 with titanic-reg): run top to bottom in a
real Jupyter kernel, as notebooks/lesson3.ipynb is (tests/test_notebook.py), and what it shows."""
from __future__ import annotations

import re
import zipfile

import nbformat
import pytest

from tests.test_notebook import ROOT, cell, data, execute, result_output, stdout

NOTEBOOK = ROOT / "notebooks" / "mnist_basics.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return execute(NOTEBOOK, tmp_path_factory)


def test_the_committed_notebook_has_no_outputs_and_every_section():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert [h.split(".")[0] for h in headings] == [f"## {i}" for i in range(1, 9)]


def test_it_runs_and_shows_the_chapters_steps(run):
    nb, folder = run
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert "background-color" in data(cell(nb, "pixels = [f"), "text/html")[0]  # the shaded 3
    assert data(cell(nb, "order = torch.randperm("), "image/png")  # the mean 3 and 7
    found = re.search(r"L1 ([\d.]+), L2 ([\d.]+)", stdout(cell(nb, "def is_3(x)"))).groups()
    assert all(0.85 < float(v) <= 1 for v in found)  # the chapter's first try works
    epochs = re.findall(r"validation accuracy ([\d.]+)", stdout(cell(nb, "gen = torch.Generator()")))
    assert len(epochs) == 4 and float(epochs[-1]) > 0.9
    for start in ("chapter = titanic_reg.fit(", "simple_net = titanic_reg.fit("):
        assert "valid_acc" in result_output(cell(nb, start)).data["text/html"]
    html = result_output(cell(nb, 'result = titanic_reg.fit(mnist.train_path, target="digit")')).data["text/html"]
    for name in ("logistic", "linear", "sklearn_logistic", "pixel_l1", "pixel_l2"):
        assert f"<th>{name}</th>" in html or f"<th>{name} *</th>" in html, name
    assert zipfile.is_zipfile(folder / "mnist37.xlsx")
    assert "'Logistic'" in data(cell(nb, 'path = result.to_excel("mnist37.xlsx")'), "text/plain")[0]
