"""titanic-reg: the fast.ai lesson-3 Titanic models in torch, mirrored as a live workbook.

`titanic_reg.fit(...)` is imported lazily so that `titanic-reg --help` stays quick.
"""
from pathlib import Path as _Path

__version__ = "0.1.0"

_HERE = _Path(__file__).resolve().parent
if not (_HERE / "sheets").is_dir() and (_HERE.parent / "sheets" / "__init__.py").is_file():
    # Run in place from a clone: sheets/ stands beside the package (the design card's layout)
    # and is titanic_reg.sheets all the same; installed, it is titanic_reg/sheets (pyproject's
    # package-dir), and nothing of the clone's top level is searched.
    __path__.append(str(_HERE.parent))
__all__ = ["FitResult", "datasets", "fit", "read_sheet"]


def __getattr__(name):
    if name in ("fit", "FitResult"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "read_sheet":
        from titanic_reg.sheets.read import read_sheet

        return read_sheet
    if name == "datasets":  # a submodule: `titanic_reg.datasets` works without importing it first
        import importlib

        return importlib.import_module(f"{__name__}.datasets")
    raise AttributeError(f"module 'titanic_reg' has no attribute {name!r}")
