"""`python -m titanic_reg ...`: the `titanic-reg` command."""
from .cli import run

if __name__ == "__main__":
    run()
