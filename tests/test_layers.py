"""The package's layers point down: each package imports only those below it, and the two
halves (training the agents, and reading their runs as evidence) never import each other. The
layers are read from the code's own import statements, lazy imports inside functions included."""

import ast

from conftest import ROOT

PACKAGE = ROOT / "algos"

LAYERS = [
    {"errors"},
    {"values"},
    {"config", "seeds"},
    {"algorithms"},
    {"envs"},
    {"provenance"},
    {"training", "evidence"},
    {"data"},
    {"agents"},
    {"train", "stage"},
    {"cli", "__main__", "__init__"},
]
"""Bottom up. ``evidence`` stands beside ``training``: the two halves of the suite. ``train``
builds the agents and trains them from the command line's inputs; ``stage`` checks every kind
of evidence (runs, experts, datasets, aggregates) before git stages it."""

APART = {("evidence", "training"), ("evidence", "data"), ("evidence", "agents")}
"""Pairs that import each other in neither direction."""


def _layer(part: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if part in names)


def _imports() -> list[tuple[str, str, int]]:
    """(file, importing top-level part, imported top-level part, line) for every import of
    another part of algos."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        part = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = ([f"algos.{a.name}" for a in node.names] if node.module == "algos"
                         else [node.module])
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                bits = name.split(".")
                if bits[0] == "algos" and len(bits) > 1 and bits[1] != part:
                    target = bits[1]
                    if (PACKAGE / target).is_dir() or (PACKAGE / f"{target}.py").exists():
                        found.append((f"{rel}", part, target, node.lineno))
    return found


def test_no_relative_imports_cross_a_package():
    """Every import between the packages is absolute, so the test below sees it."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: relative import "
                                     "out of its package")


def test_every_import_points_down_and_the_halves_stay_apart():
    problems = []
    for where, part, target, line in _imports():
        if {part, target} in [set(pair) for pair in APART]:
            problems.append(f"algos/{where}:{line}: {part} imports {target} (the halves)")
        elif _layer(target) >= _layer(part) and part not in LAYERS[-1]:
            problems.append(f"algos/{where}:{line}: {part} imports {target}, which is not "
                            "below it")
    assert not problems, "\n".join(problems)


def test_the_layer_test_sees_an_import_that_runs_back_up(tmp_path, monkeypatch):
    """The check can fail: an import of agents from provenance is found."""
    fake = tmp_path / "algos"
    (fake / "provenance").mkdir(parents=True)
    (fake / "agents").mkdir()
    (fake / "provenance" / "runs.py").write_text("def f():\n    from algos.agents import dqn\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert [(p, t) for _, p, t, _ in _imports()] == [("provenance", "agents")]
