"""Rewrite docs/models.md's table of models from the registry (titanic_reg/models.py).

    python scripts/models_table.py

A test (tests/test_models.py) fails while that table differs from the registry's.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- models table: titanic_reg.models.table_markdown() -->\n"
END = "<!-- end of models table -->"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from titanic_reg.models import table_markdown

    readme = ROOT / "docs" / "models.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + table_markdown() + END + tail, encoding="utf-8")
    print(f"wrote the table of models in {readme.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
