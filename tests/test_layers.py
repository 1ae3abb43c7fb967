"""Layers point down: every import in the package follows the ranks in edgembed/__init__.py.

A module may import its own unit (package or top-level module) and any unit of a lower rank;
the stages share a rank, so none imports another, and the training package's three stages
(trainer/generate, trainer/train, trainer/evaluate) are units of their own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgembed"
OWN_ROOTS = ("edgembed", "benchmarks")  # the research harnesses import edgembed, never back

RANKS = {
    "edgembed": 0,  # the package's __init__: __version__
    "errors": 0,
    "atomic": 1,
    "progress": 1,
    "config": 1,
    "workspace": 1,
    "client": 1,
    "formats": 2,
    "corpus": 3,
    "models": 3,
    "runtime": 4,
    "evaluation": 4,
    "trainer": 5,  # the package's __init__ only; its stages are units of their own
    "trainer.generate": 5,
    "trainer.train": 5,
    "trainer.evaluate": 5,
    "exporter": 5,
    "bench": 5,
    "server": 5,
    "pipeline": 6,
    "improve": 6,  # like pipeline: it runs train, judges, and export
    "cli": 7,
    "__main__": 8,  # python -m edgembed: the CLI
}
# The training package's stages are apart from each other like the other stages.
SPLIT_UNITS = ("trainer",)


def unit_of(module: str) -> str:
    """edgembed.trainer.generate.ict -> trainer.generate; edgembed.server.app -> server;
    edgembed -> edgembed."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in SPLIT_UNITS:
        return f"{parts[1]}.{parts[2]}"
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every edgembed or benchmarks module imported anywhere in `tree`, function bodies
    included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] in OWN_ROOTS]


def violations(path: Path, source: str) -> list[str]:
    """The imports of `source` (the module at `path`) that point up or sideways."""
    own = unit_of(module_name(path))
    problems = []
    for line, name in imported_modules(ast.parse(source)):
        target = unit_of(name)
        if name.split(".")[0] == "benchmarks":
            problems.append(f"{path.name}:{line} imports {name}, outside the package")
        elif target not in RANKS:
            problems.append(f"{path.name}:{line} imports {name}, a unit with no rank")
        elif target != own and RANKS[target] >= RANKS[own]:
            problems.append(f"{path.name}:{line}: {own} (rank {RANKS[own]}) imports {name}")
    return problems


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_rank() -> None:
    units = {unit_of(module_name(path)) for path in MODULES}
    assert units <= set(RANKS), f"give these a rank in RANKS: {sorted(units - set(RANKS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    assert violations(path, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("exporter/source.py", "from edgembed.trainer.train.finetune import train_model"),
        ("bench/run.py", "    from edgembed.exporter import export_model"),
        ("models.py", "from edgembed.evaluation.retrieval import top_k"),
        ("runtime/session.py", "import edgembed.server"),
        ("bench/run.py", "    from benchmarks.peak import peak_calls"),
        ("trainer/train/finetune.py", "from edgembed.trainer.generate.ict import ICTGenerator"),
        ("trainer/evaluate/compare.py", "from edgembed.trainer.train.data import TrainingData"),
        ("formats/manifest.py", "from edgembed.models import resolve_model"),
    ],
)
def test_a_sideways_or_upward_import_is_caught(where: str, line: str) -> None:
    source = f"def f() -> None:\n{line}\n" if line.startswith(" ") else f"{line}\n"
    assert violations(PACKAGE / where, source)
