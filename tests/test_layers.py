"""The package's layers: the core computes, the sheets render, the API and the command sit on
top; nothing imports upward, and no two modules import each other (lazy imports included)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = {"api", "cli", "__main__", "__init__"}  # titanic_reg's own top layer: above the core and the sheets


def _modules() -> dict[str, Path]:
    found = {f"titanic_reg.{p.stem}": p for p in (ROOT / "titanic_reg").glob("*.py")}
    found.update({f"titanic_reg.sheets.{p.stem}": p for p in (ROOT / "sheets").glob("*.py")})
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every titanic_reg module `name` imports, at the top or inside a function."""
    package = name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    modules = _modules()
    return {m for m in found if m in modules and m != name}


def _layer(module: str) -> str:
    if module.startswith("titanic_reg.sheets."):
        return "sheets"
    return "top" if module.rsplit(".", 1)[1] in TOP else "core"


def test_the_core_never_imports_the_sheets_the_api_or_the_command():
    upward = {(m, i) for m, p in _modules().items() for i in _imports(m, p)
              if _layer(m) == "core" and _layer(i) != "core"}
    assert not upward, upward


def test_the_sheets_never_import_the_api_or_the_command():
    upward = {(m, i) for m, p in _modules().items() for i in _imports(m, p)
              if _layer(m) == "sheets" and _layer(i) == "top"}
    assert not upward, upward


def test_no_module_imports_itself_through_others():
    graph = {m: _imports(m, p) for m, p in _modules().items() if _layer(m) != "top"}
    cycles = []

    def visit(node, path):
        for nxt in graph.get(node, ()):
            if nxt == path[0]:
                cycles.append(path + [nxt])
            elif nxt not in path and len(path) < 12:
                visit(nxt, path + [nxt])

    for start in graph:
        visit(start, [start])
    assert not cycles, sorted({" -> ".join(c) for c in cycles})[:10]


def test_the_analysis_sees_imports_of_every_kind():
    """The checks above can fail: relative, absolute and lazy imports are all read."""
    imports = _imports("titanic_reg.api", ROOT / "titanic_reg" / "api.py")
    assert {"titanic_reg.pipeline", "titanic_reg.result", "titanic_reg.sheets.read"} <= imports
    lazy = _imports("titanic_reg.result", ROOT / "titanic_reg" / "result.py")
    assert "titanic_reg.report" in lazy  # imported inside __repr__
