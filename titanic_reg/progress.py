"""The Python API's progress display: one line per model, kept up to date, in a Jupyter
notebook; nothing in scripts and tests unless asked for.

A factory here is what pipeline.fit takes as `progress`: `progress(name, total)` before a
model trains returns `advance(steps=1, total=None)`, called after each step (see
train.train). The command line draws rich bars instead (titanic_reg/cli.py).
"""
from __future__ import annotations

import sys
import time

WIDTH = 24  # the bar's characters


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (a notebook, JupyterLab, Colab, VS Code's)."""
    ipython = sys.modules.get("IPython")  # not imported by us: a script never pays for it
    shell = ipython.get_ipython() if ipython is not None else None
    # A kernel's shell has a kernel; the terminal's IPython has none, and prints as a script does.
    return getattr(shell, "kernel", None) is not None


def choose(progress):
    """pipeline.fit's `progress` for the API's: None shows lines in a notebook only, False
    nothing, True lines anywhere (on stderr outside a notebook); a factory is used as is."""
    if progress is None:
        return lines(_display) if in_notebook() else None
    if progress is True:
        return lines(_display if in_notebook() else _stderr)
    if progress is False:
        return None
    if not callable(progress):
        from .errors import OptionError

        raise OptionError("progress", f"must be True, False, None or a function progress(name, total), not {progress!r}")
    return progress


def line(name: str, done: int, total: int, seconds: float | None = None) -> str:
    """`two_relu  ████████░░░░  640/1,500 steps`, and the time taken once finished."""
    filled = WIDTH * done // total if total else WIDTH
    end = f", {seconds:.1f} s" if seconds is not None else ""
    return f"{name:<10} {'█' * filled}{'░' * (WIDTH - filled)} {done:,}/{total:,} steps{end}"


def lines(show):
    """A factory whose display `show(text)` returns an update(text, finished) for a model's line; the
    line is redrawn at each hundredth of the steps and when the model is done, not at every
    step: a notebook keeps every redraw it is sent."""
    def factory(name, total):
        state = {"done": 0, "total": total, "shown": 0, "start": time.perf_counter()}
        update = show(line(name, 0, total))

        def advance(steps=1, total=None):
            if state["shown"] > 100:  # finished and shown already
                return
            state["done"] += steps
            if total is not None:
                state["total"] = total
            done, total = state["done"], state["total"]
            finished = done >= total
            mark = 100 * done // total if total else 100
            if finished or mark > state["shown"]:
                state["shown"] = 101 if finished else mark
                update(line(name, min(done, total), total,
                            time.perf_counter() - state["start"] if finished else None), finished)

        return advance

    return factory


def _display(text):
    from IPython.display import display

    handle = display({"text/plain": text}, raw=True, display_id=True)
    return lambda text, finished: handle.update({"text/plain": text}, raw=True)


def _stderr(text):
    def update(text, finished):
        if finished:  # a terminal or a log: one line per model, nothing redrawn
            print(text, file=sys.stderr, flush=True)

    return update
