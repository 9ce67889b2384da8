"""A wheel built from the repository works away from it: installed in a fresh virtual
environment, used from another folder, it finds its own data and fits it.

The fresh environment borrows the test environment's dependencies (torch, pandas, ...)
through a .pth line, so that nothing is downloaded; titanic-reg itself comes from the
wheel only (the test checks where it was imported from)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import NO_BASELINES, copy_repository

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what git has: setuptools' build/ folder in the clone could hold files
    # of an older tree, and a wheel must not depend on what is lying around.
    source = copy_repository(base / "source")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(base / "dist"), str(source)], check=True, cwd=base)
    wheel, = (base / "dist").glob("titanic_reg-*.whl")
    env_dir = base / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, cwd=base)
    away = base / "elsewhere"
    away.mkdir()
    return env_dir, away, wheel


def run(away, *args):
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([*map(str, args)], cwd=away, capture_output=True, text=True, env=environ, timeout=600)


@pytest.mark.slow
def test_the_wheel_finds_its_data_from_another_folder(installed):
    env_dir, away, _ = installed
    out = run(away, env_dir / "bin" / "python", "-c",
              "import titanic_reg, json; from titanic_reg import datasets; t = datasets.titanic(); "
              "print(json.dumps([titanic_reg.__file__, str(t.train_path), t.train.shape, t.test.shape, "
              "datasets.penguins().train.shape]))")
    assert out.returncode == 0, out.stderr
    module, train, train_shape, test_shape, penguins_shape = json.loads(out.stdout)
    assert Path(module).is_relative_to(env_dir) and Path(train).is_relative_to(env_dir), (module, train)
    assert (train_shape, test_shape, penguins_shape) == ([891, 12], [418, 11], [344, 8])


@pytest.mark.slow
def test_the_wheels_command_fits_the_shipped_data_from_another_folder(installed):
    env_dir, away, _ = installed
    found = run(away, env_dir / "bin" / "python", "-c",
                "from titanic_reg import datasets; print(datasets.titanic().train_path)")
    out = run(away, env_dir / "bin" / "titanic-reg", "fit", found.stdout.strip(),
              "--epochs", "50", "--restarts", "8", *NO_BASELINES, "--out", "out")
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(away / "out")) == ["compare.png", "loss.png", "metrics.json", "recipe.toml",
                                                 "submission.csv", "titanic.xlsx"]
    metrics = json.loads((away / "out" / "metrics.json").read_text())
    assert metrics["settings"]["test"].endswith("test.csv")  # Kaggle's test.csv found beside train.csv
    assert metrics["models"]["linear"]["valid_acc"] > 0.75


def test_the_wheel_installs_one_package_and_nothing_named_sheets_or_cli(installed):
    """sheets/ installs as titanic_reg.sheets and the top-level cli.py stays in the clone:
    neither name lands at the top of site-packages, where it would shadow a user's own."""
    env_dir, away, wheel = installed
    with zipfile.ZipFile(wheel) as zf:
        top = {name.split("/", 1)[0] for name in zf.namelist()}
        assert "titanic_reg/sheets/workbook.py" in zf.namelist()
    assert top == {"titanic_reg", "titanic_reg-0.1.0.dist-info"}, top
    site = Path(run(away, env_dir / "bin" / "python", "-c",
                    "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    assert {"sheets", "sheets.py", "cli.py", "cli"}.isdisjoint(os.listdir(site)), os.listdir(site)
    assert (site / "titanic_reg" / "sheets" / "workbook.py").is_file()


def test_python_m_titanic_reg_is_the_command(installed):
    env_dir, away, _ = installed
    out = run(away, env_dir / "bin" / "python", "-m", "titanic_reg", "--version")
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "titanic-reg, version 0.1.0", "")


@pytest.mark.slow  # three commands in subprocesses
def test_a_users_sheets_py_and_cli_py_in_the_working_folder_change_nothing(installed, tmp_path):
    """A notebook's folder is on sys.path: a sheets.py or cli.py of the user's there must never
    stand in for ours. Here each raises on import; the command, python -m titanic_reg and the
    Python API (run from that folder, as a notebook is) all write their workbook."""
    env_dir, _, _ = installed
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("sheets.py", "cli.py"):
        (folder / name).write_text(f"raise ImportError('the user\'s own {name} was imported')\n")
    train = run(folder, env_dir / "bin" / "python", "-c",
                "from titanic_reg import datasets; print(datasets.titanic().train_path)").stdout.strip()
    quick = ["--epochs", "20", "--restarts", "2", "--baselines", "none", "--descent-steps", "2"]
    command = run(folder, env_dir / "bin" / "titanic-reg", "fit", train, "--out", "by_command", *quick)
    assert command.returncode == 0, command.stderr
    module = run(folder, env_dir / "bin" / "python", "-m", "titanic_reg", "fit", train, "--out", "by_module", *quick)
    assert module.returncode == 0, module.stderr
    api = run(folder, env_dir / "bin" / "python", "-c",
              "import sys, titanic_reg; assert sys.path[0] == '', sys.path[0]\n"
              "from titanic_reg import datasets\n"
              "result = titanic_reg.fit(datasets.titanic().train_path, epochs=20, restarts=2, baselines=None, "
              "descent_steps=2)\n"
              "print(result.to_excel('by_api.xlsx'))")
    assert api.returncode == 0, api.stderr
    for workbook in (folder / "by_command" / "titanic.xlsx", folder / "by_module" / "titanic.xlsx",
                     folder / "by_api.xlsx"):
        with zipfile.ZipFile(workbook) as zf:
            assert "xl/workbook.xml" in zf.namelist(), workbook
