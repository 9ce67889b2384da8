"""Every code block in the README runs as written.

The rule is simple: a block fenced ```sh, ```bash, ```console (its `$ ` lines) or
```python is run; anything that is not a command (a synopsis, a sample of output) is
fenced ```text. The blocks run in a copy of the repository (the files
`git ls-files --cached --others --exclude-standard` lists, as they are in the work
tree), like a reader who has just cloned it:

* blocks that make or install into a virtual environment (`python3 -m venv`, `pip install`)
  run in order in a *fresh* copy with no `.venv`, which the quick start's first line
  creates: the real first-try check (pip downloads, or takes from its cache, what it
  needs). One line is skipped: `bash scripts/test.sh`, the test suite itself, which CI
  runs (`.ci/run`) and which must not run inside itself;
* the other shell blocks run in order in another copy whose `.venv` is a symbolic link to
  this checkout's own (never made or installed into here), with it first on PATH;
* the Python blocks run in order as one program in one fresh interpreter (this one's
  executable), in that copy, so that later blocks use the names of earlier ones.

The fresh install takes a minute or two, so it starts first, in the background, while
the other blocks run.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import copy_repository

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV = ROOT / ".venv"
RUN = {"sh", "bash", "console", "python"}
NOT_RUN = {"text"}
SUITE = "bash scripts/test.sh"  # the test suite itself: CI runs it, so it is not run from here
INSTALL = re.compile(r"\bpython3? -m venv\b|\bpip install\b")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)

INSTALL_TIMEOUT = 1200
BLOCK_TIMEOUT = 300


def readme_blocks() -> list[tuple[str, str, int]]:
    """(language, code, line number of the opening fence) of each fenced block, in order."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def commands(lang: str, code: str) -> str:
    """A shell block's script: a console block's `$ ` lines, without the prompt."""
    if lang == "console":
        return "\n".join(line[2:] for line in code.splitlines() if line.startswith("$ "))
    return code


def shell_blocks() -> list[tuple[str, int]]:
    return [(commands(lang, code), line) for lang, code, line in readme_blocks() if lang in RUN - {"python"}]


def install_blocks() -> list[tuple[str, int]]:
    return [(code, line) for code, line in shell_blocks() if INSTALL.search(code)]


def other_shell_blocks() -> list[tuple[str, int]]:
    return [(code, line) for code, line in shell_blocks() if not INSTALL.search(code)]


def python_blocks() -> list[tuple[str, int]]:
    return [(code, line) for lang, code, line in readme_blocks() if lang == "python"]


def without_suite(code: str) -> str:
    return "\n".join(f"# skipped, CI runs it: {line}" if line.strip() == SUITE else line
                     for line in code.splitlines())


def environment(path_first: Path | None, drop_from_path: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep)
            if not (drop_from_path and Path(p).resolve() == drop_from_path.resolve())]
    env["PATH"] = os.pathsep.join(([str(path_first)] if path_first else []) + path)
    return env


def script(blocks: list[tuple[str, int]]) -> str:
    """One bash script for the blocks, stopping at the first failing command, and saying
    which block (by its README line) it was in."""
    parts = ["set -euo pipefail"]
    for code, line in blocks:
        parts.append(f"echo '--- README.md line {line}' >&2")
        parts.append(without_suite(code))
    return "\n".join(parts) + "\n"


def check(done: subprocess.CompletedProcess, what: str) -> None:
    assert done.returncode == 0, (f"{what} exited {done.returncode}\n--- stdout (end)\n{done.stdout[-6000:]}\n"
                                  f"--- stderr (end)\n{done.stderr[-6000:]}")


@pytest.fixture(scope="module")
def workdir():
    base = Path(tempfile.mkdtemp(prefix="readme-"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def fresh_install(workdir):
    """The install blocks, started at once in a fresh copy without a .venv; waited for by
    the test that checks them."""
    blocks = install_blocks()
    if not blocks:
        yield None
        return
    clone = copy_repository(workdir / "fresh")
    log = workdir / "fresh.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", "-c", script(blocks)], cwd=clone, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=environment(None, drop_from_path=VENV / "bin"))
    started = time.monotonic()
    yield proc, clone, log, started
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def reader_copy(workdir, fresh_install):
    """A copy with .venv linked to this checkout's environment (started after the fresh
    install, so that the two overlap)."""
    if not (VENV / "bin" / "python").exists():
        pytest.skip(f"no virtual environment at {VENV} (bash scripts/test.sh makes it)")
    clone = copy_repository(workdir / "reader")
    (clone / ".venv").symlink_to(VENV, target_is_directory=True)
    return clone


def test_every_block_is_fenced_to_run_or_as_text():
    """The rule the other tests rely on: each block says whether it runs."""
    blocks = readme_blocks()
    assert blocks, "README.md has no code blocks"
    for lang, code, line in blocks:
        assert lang in RUN | NOT_RUN, (f"README.md line {line}: a block fenced ```{lang}: use one of "
                                       f"{', '.join(sorted(RUN))} for commands, text for anything else")
    assert install_blocks(), "the quick start's install line is gone"
    assert any(SUITE in code for code, _ in install_blocks() + other_shell_blocks()), \
        f"the quick start no longer shows `{SUITE}`"


def test_the_quick_start_line_is_the_one_ci_and_the_tests_use():
    """The first command block is the quick start: a fresh venv, torch pinned, the fit."""
    first, _ = shell_blocks()[0]
    assert "python3 -m venv .venv" in first and "torch==2.13.0" in first and "titanic-reg fit data/train.csv" in first
    assert SUITE in first.splitlines()


@pytest.mark.slow
def test_the_shell_blocks_run(reader_copy):
    blocks = other_shell_blocks()
    assert blocks
    done = subprocess.run(["bash", "-c", script(blocks)], cwd=reader_copy, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=BLOCK_TIMEOUT * len(blocks),
                          env=environment(reader_copy / ".venv" / "bin"))
    check(done, "the README's shell blocks")
    # What the blocks say they write, they wrote.
    for name in ("out/titanic.xlsx", "out/submission.csv", "out/lesson/quad.png", "out/lesson/quad.xlsx",
                 "out/lesson/relu.png", "out/lesson/relu_fit.png", "recipe.toml", "out/penguins/penguins.xlsx"):
        assert (reader_copy / name).is_file(), name


@pytest.mark.slow
def test_the_python_blocks_run_in_order_in_one_interpreter(reader_copy):
    blocks = python_blocks()
    assert blocks
    program = []
    for code, line in blocks:
        program.append(f"print('--- README.md line {line}', flush=True)")
        program.append(textwrap.dedent(code))
    (reader_copy / "readme_blocks.py").write_text("\n".join(program), encoding="utf-8")
    done = subprocess.run([sys.executable, "readme_blocks.py"], cwd=reader_copy, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=BLOCK_TIMEOUT * len(blocks),
                          env=environment(reader_copy / ".venv" / "bin"))
    check(done, "the README's Python blocks")
    assert "lr: the learning rate must be a positive number, not -1.0" in done.stdout
    for name in ("titanic.xlsx", "out/metrics.json", "out/submission.csv", "out/titanic.xlsx"):
        assert (reader_copy / name).is_file(), name


@pytest.mark.slow
def test_the_install_blocks_run_in_a_fresh_copy(fresh_install):
    """Last, so that it has run beside the others: the quick start from nothing."""
    assert fresh_install is not None
    proc, clone, log, started = fresh_install
    try:
        proc.wait(timeout=max(1.0, INSTALL_TIMEOUT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the install blocks took over {INSTALL_TIMEOUT} s:\n{log.read_text()[-6000:]}")
    output = log.read_text()
    assert proc.returncode == 0, f"the install blocks exited {proc.returncode}\n{output[-8000:]}"
    assert (clone / ".venv" / "bin" / "titanic-reg").is_file()
    assert not (clone / ".venv").is_symlink()
    for name in ("metrics.json", "submission.csv", "loss.png", "recipe.toml", "titanic.xlsx"):
        assert (clone / "out" / name).is_file(), name
    assert "wrote out/titanic.xlsx" in output


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as -."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.*)$", text, re.M)}


def test_every_local_link_and_picture_in_the_readme_and_docs_exists():
    """Links between README.md and docs/*.md, and the pictures, point at files (and
    headings) that exist; every page of docs/ is linked from the README."""
    link = re.compile(r"\]\(([^)\s]+)\)")
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for target in link.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page.resolve()
            assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path), f"{page.relative_to(ROOT)} links to {target}: no such heading"
    readme_links = {(ROOT / t.split("#", 1)[0]).resolve() for t in link.findall(README.read_text(encoding="utf-8"))}
    for page in pages[1:]:
        assert page.resolve() in readme_links, f"the README does not link to {page.relative_to(ROOT)}"
    assert (ROOT / "docs" / "relu.png").resolve() in readme_links
