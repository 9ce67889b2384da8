"""`python cli.py ...` in a clone: hands on to the command's code, titanic_reg/cli.py.

Not installed: the wheel's `titanic-reg` command and `python -m titanic_reg` run
titanic_reg.cli directly, so a `cli.py` of anyone else's never stands in for it.
"""
from titanic_reg.cli import run

if __name__ == "__main__":
    run()
