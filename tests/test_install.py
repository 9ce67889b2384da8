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
    return env_dir, away


def run(away, *args):
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([*map(str, args)], cwd=away, capture_output=True, text=True, env=environ, timeout=600)


@pytest.mark.slow
def test_the_wheel_finds_its_data_from_another_folder(installed):
    env_dir, away = installed
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
    env_dir, away = installed
    found = run(away, env_dir / "bin" / "python", "-c",
                "from titanic_reg import datasets; print(datasets.titanic().train_path)")
    out = run(away, env_dir / "bin" / "titanic-reg", "fit", found.stdout.strip(),
              "--epochs", "50", "--restarts", "8", *NO_BASELINES, "--out", "out")
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(away / "out")) == ["loss.png", "metrics.json", "recipe.toml", "submission.csv",
                                                 "titanic.xlsx"]
    metrics = json.loads((away / "out" / "metrics.json").read_text())
    assert metrics["settings"]["test"].endswith("test.csv")  # Kaggle's test.csv found beside train.csv
    assert metrics["models"]["linear"]["valid_acc"] > 0.75
