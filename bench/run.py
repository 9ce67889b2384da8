#!/usr/bin/env python
"""titanic-reg benchmarks: speed and memory against the targets, in one command.

    python bench/run.py                    # everything, a few minutes on 2 cores
    python bench/run.py --parts 1,2        # some parts only
    python bench/run.py --quick            # fewer repeats (a smoke run; noisier)
    python bench/run.py --update-readme    # also rewrite the table in bench/README.md and docs/performance.md
    python bench/run.py --out FILE         # the results somewhere else than bench/results.json

Prints a table and writes bench/results.json (every sample, the machine, the date).
Parts, one module each (see bench/README.md for what each measures and why):
  1  part1_linear.py: linear model to within 1e-6 of the least-squares optimum: ours,
     scikit-learn, the lesson's naive loop (and L-BFGS as a what-if)
  2  part2_two_relu.py: two-ReLU model to a training MSE of 0.1300; 64 starts batched vs looped
  3  part3_command.py: the command: --help, fit, fit --verify (wall time, peak memory)
  4  part4_libreoffice.py: LibreOffice recalculating our workbook vs the lesson's own
  5  part5_scale.py: synthetic 10k / 100k / 1M-row CSVs, fit time and peak memory
  6  part6_any_csv.py: a generated 300,000-row, 20-column table of mixed kinds, the whole
     `titanic-reg fit --target` command (recipe inferred, workbook included)
  7  part7_models.py: the models (--models): each one's time to its final loss and to
     scikit-learn's MLP's loss, and LibreOffice's recalculation of its workbook
  8  part8_mnist.py: fastbook chapter 4's 3s and 7s, the shipped 1,000 images and 15,495
     shifted ones (the chapter's 12,396 training images), the whole command with its workbook
  9  part9_tables.py: real tables packages ship: many classes (penguins, wine, digits), dates
     (cars, economics, with --split time), a small table (swiss), skewed targets (mammals, CPS)
common.py holds what they share; output.py the table, the README's and the JSON.

Not part of the test suite. Touches nothing outside bench/ (scratch files go to
bench/work/, which git ignores, and to temporary directories).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import common
import output
import part1_linear
import part2_two_relu
import part3_command
import part4_libreoffice
import part5_scale
import part6_any_csv
import part7_models
import part8_mnist
import part9_tables


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="1,2,3,4,5,6,7,8,9", help="comma-separated parts to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and no 1M rows (noisier; a smoke run)")
    ap.add_argument("--reps", type=int, default=None, help="repeats of each fast timing (default 5; 3 with --quick)")
    ap.add_argument("--out", default=str(common.BENCH / "results.json"), help="where to write the results JSON")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the results table in bench/README.md and docs/performance.md")
    args = ap.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = sorted(parts - set("123456789"))
    if unknown:
        ap.error(f"--parts: no part {', '.join(unknown)}; the parts are 1 to 9")
    out = os.path.abspath(args.out)
    os.chdir(common.ROOT)
    reps = args.reps or (3 if args.quick else 5)
    t0 = common.now()
    machine = common.machine_info()
    res = common.Results()
    keep: dict = {}
    try:
        if "1" in parts:
            part1_linear.run(res, reps)
        if "2" in parts:
            part2_two_relu.run(res, reps)
        if "3" in parts:
            part3_command.run(res, reps, keep)
        if "4" in parts:
            part4_libreoffice.run(res, 4 if not args.quick else 2, keep)
        if "5" in parts:
            part5_scale.run(res, args.quick)
        if "6" in parts:
            part6_any_csv.run(res)
        if "7" in parts:
            part7_models.run(res, 3 if not args.quick else 1)
        if "8" in parts:
            part8_mnist.run(res, args.quick)
        if "9" in parts:
            part9_tables.run(res)
    finally:
        for k in ("cli_tmp", "lo_tmp"):
            if keep.get(k):
                shutil.rmtree(keep[k], ignore_errors=True)
    total = common.now() - t0
    machine["loadavg_end"] = common.loadavg()
    cmd = "python bench/run.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:]))
    doc = {"command": cmd, "total_seconds": total, "machine": machine, "rows": res.rows, "parts": res.parts}
    output.write_json(out, doc)
    output.print_table(res, machine, total, out)
    if args.update_readme:
        output.update_readme(output.markdown_table(res, machine, total, cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
