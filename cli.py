"""`python cli.py ...` in a clone: hands on to the command's code, titanic_reg/cli.py.

Not installed: the wheel's `titanic-reg` command and `python -m titanic_reg` run
titanic_reg.cli directly, so a `cli.py` of anyone else's never stands in for it.
(`main`, the click group, is here too for the tests that invoke it in place.)
"""
from titanic_reg.cli import main, run  # noqa: F401

if __name__ == "__main__":
    run()
