"""Short reprs: a result object shows what it holds in a line or two, in a notebook or a
debugger, and never dumps its arrays (a FitResult once printed 55,000 characters)."""
from __future__ import annotations

from pathlib import Path

MAX_ITEMS = 6  # a list, dict or array this long or shorter is shown whole
MAX_TEXT = 60


def short(value) -> str:
    """`value` in a few dozen characters: arrays and frames by shape, long lists by length."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):  # a torch tensor or a numpy array
        kind = "tensor" if type(value).__module__.startswith("torch") else "array"
        size = int(value.numel() if hasattr(value, "numel") else value.size)
        dtype = str(value.dtype).removeprefix("torch.")
        if size and size <= MAX_ITEMS and len(shape) <= 1:
            return f"{kind}([{', '.join(_number(v) for v in value.tolist())}], {dtype})"
        return f"{kind}[{'x'.join(map(str, shape)) or 'scalar'}] {dtype}"
    if shape is not None and hasattr(value, "columns"):  # a DataFrame
        return f"DataFrame({shape[0]:,} rows x {shape[1]:,} columns)"
    if isinstance(value, (list, tuple)):
        names = all(isinstance(v, str) for v in value) and sum(len(v) + 4 for v in value) <= 2 * MAX_TEXT
        if len(value) <= MAX_ITEMS or names:  # a few names read better whole
            inner = ", ".join(short(v) for v in value)
            return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
        return f"[{short(value[0])}, ... {len(value):,} items]"
    if isinstance(value, dict):
        keys = list(value)
        if len(keys) <= MAX_ITEMS and all(isinstance(k, str) for k in keys):
            return "{" + ", ".join(f"{k!r}: {short(value[k])}" for k in keys) + "}"
        return f"{{{', '.join(map(repr, keys[:3]))}, ... {len(keys):,} keys}}"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, Path):
        return repr(str(value))
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return repr(value[:MAX_TEXT - 3] + "...")
    text = repr(value)
    return text if len(text) <= 2 * MAX_TEXT else f"<{type(value).__name__}>"


def prose_number(value) -> str:
    """A number for a sentence: 6 significant figures, as the recipe's reasons and the warnings
    write them (2654.32, not 2654.32257628018); the recipe's keys keep the exact value."""
    from .transforms import number_text

    return number_text(float(f"{float(value):.6g}"))


def unsigned_zero(text: str) -> str:
    """A rounded number's text without the sign of a zero: -0.00004 shown to 4 places is
    0.0000, as a spreadsheet shows it, not -0.0000."""
    if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0].split("E")[0]):
        return text[1:]
    return text


def _number(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v)
