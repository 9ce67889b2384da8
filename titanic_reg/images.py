"""Read a folder of images, one folder per class, into the Table a pixel CSV gives.

The layout is fastai's (MNIST_SAMPLE, fastbook chapter 4): the folder given holds one
folder per class, and each class folder holds that class's images::

    train/3/10.png  train/3/10000.png  ...  train/7/1002.png  ...

`read_folder("train")` gives the columns `p0` ... `p{n-1}`, the n pixels of each image
row by row as whole numbers 0-255, then `label`, the name of its class folder (the column
is `label` whatever the classes are: fit such a folder with `--target label`). Rows are
sorted by class folder name, then by file name (as text: `10.png` before `9.png`);
`image_files(folder)` lists the files in that order, so row r of the table (rows are
numbered as the CSV of the same images would be, the header being row 1) is
`image_files(folder)[r - 2]`. The values are exactly those of that CSV, which is what
data/mnist37.csv is for MNIST's 3s and 7s.

Images are read with Pillow, in any format it can open (PNG and JPEG above all), and
must be greyscale and all of one size. Greyscale means mode L, 1 (black and white, read
as 0 and 255), P with a palette of greys, or RGB whose three channels are equal at every
pixel (as a greyscale image saved as colour is); anything else is refused with its mode.
Files whose names start with "." (.DS_Store) are skipped; every other file in a class
folder must be an image. Files beside the class folders (a labels.csv) are left alone.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, warn

__all__ = ["LABEL", "MAX_PIXELS", "folder_sha256", "image_files", "read_folder"]

LABEL = "label"
# One column per pixel: past a worksheet's 16,384 columns (128x128 pixels) the table
# cannot be shown, and a folder of photographs would be millions of columns.
MAX_PIXELS = 16_384
NOT_A_CSV = "is a directory, not a CSV file"


def image_files(folder) -> list[tuple[str, Path]]:
    """(class, file) for every image the folder's class folders hold, in the table's order.
    InputError when the folder holds no class folder of images, or only one, or a class
    folder holds something that is not an image file."""
    folder = Path(folder)
    classes = [d for d in _entries(folder) if d.is_dir()]
    with_images = [d for d in classes if any(_looks_like_image(f) for f in _entries(d) if f.is_file())]
    deeper = _folder_of_classes(classes)
    give = f", but {deeper} is a folder of class folders of images: give that" if deeper else ""
    if not with_images:
        if not give and any(_looks_like_image(f) for f in _entries(folder) if f.is_file()):
            give = "; to read its images, put each class's images in a folder named for the class"
        raise InputError(folder, NOT_A_CSV + give)
    if len(with_images) == 1:
        raise InputError(folder, f"holds one class folder of images ({with_images[0].name}); a model needs "
                                 "two classes or more, one folder each" + give)
    found = []
    for d in with_images:
        for f in _entries(d):
            if f.is_dir():
                raise InputError(f, f"is a folder inside class folder {d.name}: a class folder holds only images")
            if not _looks_like_image(f):
                raise InputError(f, f"is not an image (class folder {d.name} holds only images)")
            found.append((d.name, f))
    return found


def read_folder(folder):
    """The folder's images as a Table (see the module's docstring); InputError naming the
    file for an image of another size than the first, a colour image, or an unreadable file."""
    from .columns import Table

    folder = Path(folder)
    files = image_files(folder)
    empty = [d.name for d in _entries(folder) if d.is_dir() and not _entries(d)]
    if empty:  # a class whose images were never copied in, most likely
        many = len(empty) > 1
        warn(f"{folder}: class folder{'s' if many else ''} {', '.join(empty)} {'hold' if many else 'holds'} no "
             f"images, so the model has no class{'es' if many else ''} {', '.join(empty)}")
    first = size = None
    pixels = None
    for i, (_, path) in enumerate(files):
        grey = _grey(path)
        if first is None:
            first, size = path, grey.shape
            if grey.size > MAX_PIXELS:
                raise InputError(path, f"is {_size(grey.shape)} pixels, {grey.size:,} in all: past the "
                                       f"{MAX_PIXELS:,} (128x128) an image may have here, one column each; "
                                       "shrink the images")
            pixels = np.empty((len(files), grey.size), dtype=np.uint8)
        elif grey.shape != size:
            raise InputError(path, f"is {_size(grey.shape)} pixels but {first} is {_size(size)}; "
                                   "every image must be one size")
        pixels[i] = grey.reshape(-1)

    header = [f"p{i}" for i in range(pixels.shape[1])] + [LABEL]
    columns = [_column(name, pixels[:, i]) for i, name in enumerate(header[:-1])]
    columns.append(_column(LABEL, np.array([label for label, _ in files], dtype=object)))
    rows = np.arange(len(files), dtype=np.int64) + 2
    return Table(folder, header, columns, rows, 1, False, image_shape=tuple(size))


def folder_sha256(folder) -> str:
    """A hash of what read_folder reads: each image's class, file name and bytes, in order."""
    digest = hashlib.sha256()
    for label, path in image_files(folder):
        data = path.read_bytes()
        digest.update(f"{label}/{path.name}\0{len(data)}\0".encode("utf-8", "surrogateescape"))
        digest.update(data)
    return digest.hexdigest()


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise InputError(folder, f"cannot read the folder: {exc.strerror or exc}") from None


def _looks_like_image(path: Path) -> bool:
    """Named as a format Pillow opens (.png, .jpg, ...): how a class folder is told apart
    from any other folder; what it holds is checked when it is read."""
    from PIL import Image

    extensions = Image.registered_extensions()  # also imports the format plug-ins, filling Image.OPEN
    return extensions.get(path.suffix.lower()) in Image.OPEN


def _folder_of_classes(subfolders: list[Path]) -> Path | None:
    """The first subfolder that is itself a folder of class folders of images: fastai's archive
    holds train/ and valid/, each of them the folder to give, and a run's --out inside the
    folder given would make its loss.png look like a class."""
    for d in subfolders:
        inner = [c for c in _entries(d) if c.is_dir()]
        if sum(any(_looks_like_image(f) for f in _entries(c) if f.is_file()) for c in inner) >= 2:
            return d
    return None


def _grey(path: Path) -> np.ndarray:
    """The image's pixels as 8-bit greys (height x width); InputError if it is anything else."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode = image.mode
            if mode == "1":
                image = image.convert("L")
            elif mode in ("P", "RGB"):
                rgb = np.asarray(image.convert("RGB"))
                if not ((rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])).all():
                    raise InputError(path, f"is a colour image (mode {mode}); save it as greyscale (mode L)")
                return rgb[..., 0].copy()
            elif mode != "L":
                raise InputError(path, f"is not an 8-bit greyscale image (mode {mode}); "
                                       "save it as greyscale (mode L)")
            return np.asarray(image, dtype=np.uint8).copy()
    except UnidentifiedImageError:
        raise InputError(path, "is not an image (Pillow cannot read it)") from None
    except Image.DecompressionBombError as exc:
        raise InputError(path, f"is too large an image to read ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data inside a known format
        raise InputError(path, f"cannot be read as an image ({exc})") from None


def _size(shape) -> str:
    return f"{shape[1]}x{shape[0]}"


def _column(name: str, values: np.ndarray):
    """A column as read_table builds it: codes into the distinct texts, in order of appearance."""
    from .columns import Column

    codes, uniques = pd.factorize(values, sort=False)
    texts = pd.Series([str(v).strip() for v in uniques], dtype=object)  # stripped, as read_table keeps texts
    return Column(name, codes, texts)
