"""The package's shape: functions short enough to read at a glance (STYLE.md: under ~50 lines,
none over 60, docstring included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "edgembed"
LONGEST = 60


def long_functions(source: str, limit: int = LONGEST) -> list[tuple[str, int]]:
    """(name, lines) of every function in `source` longer than `limit` lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_no_function_in_the_package_is_over_60_lines() -> None:
    too_long = {
        f"{path.relative_to(PACKAGE)}:{name}": lines
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    }
    assert too_long == {}


def test_a_long_function_is_caught() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LONGEST))
    assert long_functions(f"def f() -> None:\n{body}\n") == [("f", LONGEST + 1)]
    assert long_functions("def g() -> None:\n    pass\n") == []
