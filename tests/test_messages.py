"""What the command says: every error and warning one line, control characters from the
user's input shown escaped (a terminal would act on them), numbers as they were written,
and the cause named where it lies."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from titanic_reg import cli

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "data" / "penguins.csv"
RED = "\x1b[31m"


def _run(*args):
    # color=True: click strips ANSI sequences from output that is not a terminal, and a
    # user's terminal is one; the runner must pass on what the command sends.
    return CliRunner().invoke(cli.main, [str(a) for a in args], color=True)


def _penguins_with_header(tmp_path, old, new) -> Path:
    text = PENGUINS.read_text(encoding="utf-8")
    path = tmp_path / "penguins.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_an_escape_sequence_in_a_header_is_shown_escaped_in_the_error(tmp_path):
    data = _penguins_with_header(tmp_path, "bill_length_mm", f"bill{RED}red")
    result = _run("fit", data, "--target", "nope", "--no-workbook", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "bill\\x1b[31mred" in lines[0]
    assert not (tmp_path / "out").exists()


def test_control_characters_in_a_warning_are_shown_escaped(tmp_path):
    # sex has 11 rows without a value: one warning, naming the column as the header has it.
    data = _penguins_with_header(tmp_path, ",sex,", f",sex\x07\x9b2J{RED},")
    result = _run("fit", data, "--target", f"sex\x07\x9b2J{RED}", "--no-workbook", "--epochs", "5",
                  "--restarts", "1", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert not any(c in result.stderr for c in "\x1b\x07\x9b")
    warned = [line for line in result.stderr.splitlines() if "without a target" in line]
    assert len(warned) == 1 and "column sex\\x07\\x9b2J\\x1b[31m: 11 rows" in warned[0], result.stderr


def test_a_usage_error_from_an_option_escapes_its_value(tmp_path):
    result = _run("fit", PENGUINS, "--target", "species", "--positive", f"Ad{RED}elie", "--no-workbook",
                  "--out", tmp_path / "out")
    assert result.exit_code == 1, result.stderr
    assert "\x1b" not in result.stderr and "Ad\\x1b[31melie" in result.stderr


# --------------------------------------------------------------------------- a standard output that fails
def _to_dev_full(*args):
    import os
    import subprocess
    import sys

    import pytest

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full, a device every write to fails (Linux)")
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "titanic_reg", *map(str, args)], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=600)


def test_a_full_standard_output_does_not_claim_outputs_that_were_never_written():
    # recipe without -o: its only output is standard output
    done = _to_dev_full("recipe", PENGUINS, "--target", "sex")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "error: cannot write to standard output (No space left on device)"


def test_a_full_standard_output_says_the_outputs_were_written_when_they_were(tmp_path):
    done = _to_dev_full("lesson", "relu", "--out", tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == ("error: cannot write to standard output (No space left on device); "
                                            "the outputs were written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.png", "relu_fit.png"]
