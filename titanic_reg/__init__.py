"""titanic-reg: the fast.ai lesson-3 Titanic models in torch, mirrored as a live workbook.

`titanic_reg.fit(...)` is imported lazily so that `titanic-reg --help` stays quick.
"""
__version__ = "0.1.0"
__all__ = ["fit", "FitResult"]


def __getattr__(name):
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
