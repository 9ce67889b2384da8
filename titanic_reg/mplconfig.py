"""A writable configuration folder for matplotlib, set before it is imported.

Where HOME cannot hold ~/.config/matplotlib (a read-only home, a service account),
matplotlib prints two lines of its own on stderr ("mkdir -p failed ...") and makes a
temporary folder; where the home does not exist at all and root may write there, it
creates it (/nonexistent/.config/matplotlib). Nothing may be created outside --out and
the temporary folder, and whether matplotlib's own folders would do is decided without
creating them. Our stderr carries only `warning:` and `error:` lines, so we
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
    if os.environ.get("MPLCONFIGDIR") or all(_usable(folder) for folder in _defaults()):
        return
    folder = tempfile.mkdtemp(prefix="titanic-reg-matplotlib-")
    process.on_exit(shutil.rmtree, folder, ignore_errors=True)  # also at the CLI's quick exit
    os.environ["MPLCONFIGDIR"] = folder


def _defaults() -> tuple[Path, Path]:
    """matplotlib's own choices on Linux and macOS, its configuration and its cache:
    $XDG_CONFIG_HOME/matplotlib, else ~/.config/matplotlib; $XDG_CACHE_HOME/matplotlib,
    else ~/.cache/matplotlib."""
    home = os.path.expanduser("~")
    return (Path(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")) / "matplotlib",
            Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")) / "matplotlib")


def _usable(folder: Path) -> bool:
    """Whether matplotlib may make and use `folder`, decided without creating anything: the
    nearest folder of it that exists must be writable and inside the home directory (or be
    the home itself, or the folder XDG_*_HOME names). A home that does not exist (Debian's /nonexistent for system users)
    would otherwise have matplotlib create it, and its parents, wherever root may write."""
    home = Path(os.path.expanduser("~")).absolute()
    folder = folder.absolute()
    nearest = next((p for p in (folder, *folder.parents) if os.path.lexists(p)), None)
    if nearest is None or not nearest.is_dir() or not os.access(nearest, os.W_OK | os.X_OK):
        return False
    return nearest in (folder, folder.parent, home) or home in nearest.parents
