"""The package's layering, read from its own imports (module-level and the lazy ones inside
functions): no import circle, and lint (the pre-commit path) stands on nothing of the engine,
verify, the measuring code or the targets."""

import ast
from pathlib import Path

from tests.conftest import ROOT

LINT_SIDE = ("dlgen.lint", "dlgen.rulekit", "dlgen.sources", "dlgen.report", "dlgen.config")
NOT_UNDER_LINT = ("dlgen.verify", "dlgen.verify_targets", "dlgen.tune", "dlgen.engine", "dlgen.targets",
                  "dlgen.bundle", "dlgen.doctor", "dlgen.spec")


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for f in (root / "dlgen").rglob("*.py"):
        name = ".".join(f.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    mods = modules(root)
    g: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                         for a in node.names}
        g[name] = {d for d in deps if d in mods and d != name and not name.startswith(d + ".")}
    return g


def reach(g, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in g[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_import_graph_has_no_circle():
    g = graph()
    assert len(g) > 30, "the package's modules are found"
    circles = sorted({tuple(sorted([m, n])) for m in g for n in reach(g, m) if m in reach(g, n) and m != n})
    assert circles == [], f"modules that import each other (directly or through others): {circles}"


def test_lint_imports_nothing_of_verify_tune_or_the_targets():
    g = graph()
    for m in LINT_SIDE:
        below = {x for x in reach(g, m) if x.startswith(NOT_UNDER_LINT)}
        assert not below, f"{m} reaches {sorted(below)}"


def test_the_graph_reader_sees_a_circle_when_there_is_one(tmp_path):
    """The check itself can fail: two modules importing each other (one lazily) are found."""
    pkg = tmp_path / "dlgen"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from dlgen import b\n")
    (pkg / "b.py").write_text("from dlgen.a import f\n")
    g = graph(tmp_path)
    assert "dlgen.b" in reach(g, "dlgen.a") and "dlgen.a" in reach(g, "dlgen.b")
