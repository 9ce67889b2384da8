#!/usr/bin/env python
"""Which layer imports which: the core (titanic_reg's computing modules), the sheets
(titanic_reg.sheets, the workbook writer) and the top (titanic_reg.api, .cli, the package's
facade). Prints every import that crosses a layer, lazy ones included; tests/test_layers.py
holds the rule (none upward, no cycle).

    python scripts/imports.py
"""
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_layers import _imports, _layer, _modules  # noqa: E402


def main() -> None:
    crossing = Counter()
    for module, path in sorted(_modules().items()):
        for imported in sorted(_imports(module, path)):
            a, b = _layer(module), _layer(imported)
            if a != b:
                crossing[a, b] += 1
                print(f"{a:>6} -> {b:<6} {module} imports {imported}")
    print()
    for (a, b), n in sorted(crossing.items()):
        print(f"{a} -> {b}: {n} import{'s' if n > 1 else ''}")


if __name__ == "__main__":
    main()
