"""titanic_reg.fit's progress: a line per model in a notebook, nothing in a script unless asked.

The notebook itself is run in a real kernel by tests/test_notebook.py; here a Jupyter kernel's
shell is faked (an IPython module whose shell has a kernel) to test the choice and the lines.
"""
from __future__ import annotations

import re
import sys
import types

import pytest

import titanic_reg
from titanic_reg import datasets, progress
from titanic_reg.errors import OptionError

pytestmark = pytest.mark.filterwarnings("ignore::titanic_reg.errors.InputWarning")  # penguins without a sex

QUICK = {"epochs": 30, "restarts": 2, "descent_steps": 0, "baselines": None}


def _shell(monkeypatch, kernel: bool):
    shell = types.SimpleNamespace(**({"kernel": object()} if kernel else {}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


class Shown:
    """A stand-in for IPython's display: every model's line as it was redrawn."""

    def __init__(self):
        self.lines: list[list[str]] = []

    def __call__(self, text):
        self.lines.append([text])
        return lambda text, finished, mine=self.lines[-1]: mine.append(text)


def test_a_kernel_is_a_notebook_and_a_terminal_or_a_script_is_not(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not progress.in_notebook()
    _shell(monkeypatch, kernel=False)  # terminal IPython
    assert not progress.in_notebook()
    _shell(monkeypatch, kernel=True)
    assert progress.in_notebook()


def test_a_line_is_redrawn_at_each_hundredth_and_when_done():
    shown = Shown()
    advance = progress.lines(shown)("two_relu", 1000)
    for _ in range(1000):
        advance(1)
    (model,) = shown.lines
    assert len(model) == 1 + 100  # the empty bar, then one per hundredth: not 1,000 redraws
    assert model[0] == "two_relu   " + "░" * progress.WIDTH + " 0/1,000 steps"
    assert re.fullmatch("two_relu   " + "█" * progress.WIDTH + r" 1,000/1,000 steps, \d+\.\d s", model[-1])
    assert model[50] == "two_relu   " + "█" * 12 + "░" * 12 + " 500/1,000 steps"


def test_a_descent_that_stops_early_finishes_its_line_at_its_own_total():
    # conjugate gradient converged after 7 of 50 planned steps: train() says so with advance(0, total=7)
    shown = Shown()
    advance = progress.lines(shown)("linear", 50)
    for _ in range(7):
        advance(1)
    advance(0, total=7)
    advance(0, total=7)  # told again: still one finished line
    (model,) = shown.lines
    assert re.fullmatch(r"linear +█+ 7/7 steps, \d+\.\d s", model[-1])
    assert sum(", " in text for text in model) == 1


def test_a_fit_in_a_notebook_shows_a_line_per_model(monkeypatch, capsys):
    _shell(monkeypatch, kernel=True)
    shown = Shown()
    monkeypatch.setattr(progress, "_display", shown)
    titanic_reg.fit(datasets.penguins().train_path, target="sex", models="linear,two_relu", **QUICK)
    assert [model[0].split()[0] for model in shown.lines] == ["linear", "two_relu"]
    for model in shown.lines:
        assert re.search(r" (\d+)/\1 steps, \d+\.\d s$", model[-1]), model[-1]
    out = capsys.readouterr()
    assert out.out == "" and "steps" not in out.err  # displayed, not printed


@pytest.mark.parametrize("notebook, option", [(False, None), (True, False)])
def test_no_progress_in_a_script_or_when_turned_off(monkeypatch, capsys, notebook, option):
    _shell(monkeypatch, kernel=notebook)
    shown = Shown()
    monkeypatch.setattr(progress, "_display", shown)
    titanic_reg.fit(datasets.penguins().train_path, target="sex", models="linear", progress=option, **QUICK)
    assert shown.lines == []
    out = capsys.readouterr()
    assert out.out == "" and "steps" not in out.err


def test_progress_true_in_a_script_prints_one_line_per_model_on_stderr(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    titanic_reg.fit(datasets.penguins().train_path, target="sex", models="linear,two_relu", progress=True, **QUICK)
    lines = capsys.readouterr().err.splitlines()
    steps = [line for line in lines if " steps, " in line]
    assert [line.split()[0] for line in steps] == ["linear", "two_relu"]


def test_a_bad_progress_is_named():
    with pytest.raises(OptionError, match=r"^progress: must be True, False, None or a function"):
        titanic_reg.fit(datasets.penguins().train_path, target="sex", progress="yes")
