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
__all__ = ["FitResult", "Result", "datasets", "fit", "read_sheet"]


def __getattr__(name):
    # The API (api.py) is the layer above the core and the workbook writer: reached lazily.
    if name in ("fit", "Result", "read_sheet"):
        from . import api

        return getattr(api, name)
    if name == "FitResult":
        from .result import FitResult

        return FitResult
    if name == "datasets":  # a submodule: `titanic_reg.datasets` works without importing it first
        import importlib

        return importlib.import_module(f"{__name__}.datasets")
    raise AttributeError(f"module 'titanic_reg' has no attribute {name!r}")
