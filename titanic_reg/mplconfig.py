"""A writable configuration folder for matplotlib, set before it is imported.

Where HOME cannot hold ~/.config/matplotlib (a read-only or missing home, a service
account), matplotlib prints two lines of its own on stderr ("mkdir -p failed ...") and
makes a temporary folder. Our stderr carries only `warning:` and `error:` lines, so we
give it a private temporary folder first, removed when the process ends
(titanic_reg.process.on_exit: at Python's exit, or at the command's quick one).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from . import process


def ensure() -> None:
    if os.environ.get("MPLCONFIGDIR") or _writable(_default()):
        return
    folder = tempfile.mkdtemp(prefix="titanic-reg-matplotlib-")
    process.on_exit(shutil.rmtree, folder, ignore_errors=True)  # also at the CLI's quick exit
    os.environ["MPLCONFIGDIR"] = folder


def _default() -> Path:
    """matplotlib's own choice on Linux and macOS: $XDG_CONFIG_HOME/matplotlib, else ~/.config/matplotlib."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "matplotlib"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
