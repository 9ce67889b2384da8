"""The tables that ship with titanic-reg, found wherever it is installed.

    from titanic_reg import datasets
    titanic = datasets.titanic()           # .train and .test as DataFrames (read on first use)
    titanic_reg.fit(titanic.train_path)    # or the file's path, for fit() and the command line
    datasets.penguins().train              # palmerpenguins, for "repeat with a different dataset"
    datasets.mnist37().train               # MNIST's handwritten 3s and 7s as 784 pixel columns

In the repository they are `data/*.csv`; a wheel carries them inside the package
(`titanic_reg/data/`, copied there by setup.py when the wheel is built).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Dataset", "folder", "mnist37", "penguins", "titanic"]

_HERE = Path(__file__).resolve().parent


def folder() -> Path:
    """The folder of the shipped CSVs: the package's own copy (a wheel), else the repository's
    `data/` beside the package (an editable install, or a clone on sys.path)."""
    for candidate in (_HERE / "data", _HERE.parent / "data"):
        if (candidate / "train.csv").is_file():
            return candidate
    raise FileNotFoundError(f"titanic-reg's data files are not installed (looked in {_HERE / 'data'} and "
                            f"{_HERE.parent / 'data'}); reinstall the package")


@dataclass(frozen=True)
class Dataset:
    """A shipped table: its paths, and its rows as DataFrames of the file's own text and numbers."""

    name: str
    train_path: Path
    test_path: Path | None = None
    target: str | None = None  # the column to predict; None for Titanic, whose recipe ships
    _frames: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def train(self):
        return self._read("train", self.train_path)

    @property
    def test(self):
        return None if self.test_path is None else self._read("test", self.test_path)

    def _read(self, key, path):
        if key not in self._frames:
            import pandas as pd

            self._frames[key] = pd.read_csv(path)
        return self._frames[key].copy()  # a caller's edits never reach the next reader

    def __repr__(self) -> str:
        files = f"train_path={str(self.train_path)!r}"
        if self.test_path:
            files += f", test_path={str(self.test_path)!r}"
        return f"Dataset({self.name!r}, {files}{f', target={self.target!r}' if self.target else ''})"


def titanic() -> Dataset:
    """Kaggle's Titanic competition files: 891 training rows (with Survived) and 418 test rows."""
    data = folder()
    return Dataset("titanic", data / "train.csv", data / "test.csv")


def penguins() -> Dataset:
    """palmerpenguins' 344 penguins (one file, no test rows); the lesson's "different dataset"."""
    return Dataset("penguins", folder() / "penguins.csv", target="sex")


def mnist37() -> Dataset:
    """1,000 handwritten digits from MNIST, 500 3s then 500 7s (fastbook chapter 4): columns
    p0 ... p783 are the 28x28 pixels row by row, 0 (background) to 255 (ink), and digit is 3 or 7.
    One file, no test rows; data/README.md says where the images come from."""
    return Dataset("mnist37", folder() / "mnist37.csv", target="digit")
