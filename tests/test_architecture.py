"""The package's layering: no import cycle between the modules of ``mrgen_core`` and ``training``, and the numpy
parts import without torch.

The import graph is read from the source with :mod:`ast` (nothing is imported). An edge ``a -> b`` means module ``a``
imports ``b``; importing ``pkg.mod`` also runs ``pkg/__init__.py``, so the packages above ``b`` count too (except
those above ``a``, which are already being imported when ``a`` runs). Two graphs are checked:

* module level (what runs when a module is imported, ``if TYPE_CHECKING:`` blocks left out) must be acyclic;
* with the lazy imports inside functions added: acyclic too, so that no layer reaches back up even lazily (``io``
  only parses and writes; loading any motion file to SMPL lives in :mod:`mrgen_core.motion_files`, above ``io`` and
  ``retarget``).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("mrgen_core", "training")


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py" or (REPO / name.replace(".", "/")).is_dir()


def _resolve(module: str, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str, tree: ast.Module) -> list[tuple[str, bool]]:
    """``(imported module, lazy)`` for every import in ``tree``; lazy = inside a function."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, child.level, child.module)
                found.append((base, lazy))
                found.extend((f"{base}.{a.name}", lazy) for a in child.names if f"{base}.{a.name}" in MODULES)
            visit(child, lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return found


def _graph(lazy: bool) -> dict[str, set[str]]:
    """Edges between the packages' modules (module level only, or with the lazy imports too)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}  # packages above module
        for name, is_lazy in _imports(module, ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if is_lazy and not lazy:
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the module and the packages above it (their __init__ runs)
                target = ".".join(parts[:i])
                if target in MODULES and target != module and target not in own:
                    graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan), as a readable path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    out = []
    for comp in comps:  # the shortest path from the component's first module back to itself
        members, start = set(comp), comp[0]
        prev: dict[str, str] = {}
        todo, last = [start], None
        while last is None:
            v = todo.pop(0)
            for w in sorted(graph[v] & members):
                if w == start:
                    last = v
                    break
                if w not in prev:
                    prev[w] = v
                    todo.append(w)
        path = [last]
        while path[-1] != start:
            path.append(prev[path[-1]])
        out.append(path[::-1] + [start])
    return out


def test_the_walk_sees_every_module():
    assert {"mrgen_core", "mrgen_core.io", "mrgen_core.io.bvh", "mrgen_core.motion_files", "mrgen_core.atomic",
            "mrgen_core.retarget.naming", "mrgen_core.retarget.solve", "mrgen_core.worker", "mrgen_core.cli.generate",
            "training.train"} <= set(MODULES)
    g = _graph(lazy=True)
    assert "mrgen_core.retarget.rigs" in g["mrgen_core.retarget.solve"]
    assert "mrgen_core.io" in g["mrgen_core.retarget.solve"]  # via io.bvh: the package's __init__ runs too
    assert "mrgen_core" not in g["mrgen_core.motion"]  # a module's own packages are not edges


def test_the_cycle_finder_finds_cycles():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(g) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("lazy", [False, True], ids=["module-level", "with-lazy-imports"])
def test_no_import_cycle(lazy):
    cycles = _cycles(_graph(lazy))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_io_does_not_reach_up():
    """``io`` parses and writes formats: it imports nothing above it (no retargeting, no motion-file dispatch)."""
    g = _graph(lazy=True)
    for module in (m for m in MODULES if m == "mrgen_core.io" or m.startswith("mrgen_core.io.")):
        up = {t for t in g[module] if t.startswith(("mrgen_core.retarget", "mrgen_core.motion_files", "training"))}
        assert not up, f"{module} imports {sorted(up)}"


def test_numpy_parts_import_without_torch():
    code = ("import sys\n"
            "import mrgen_core, mrgen_core.motion_files, mrgen_core.retarget, mrgen_core.metrics, mrgen_core.features\n"
            "import mrgen_core.io, mrgen_core.io.bvh, mrgen_core.io.amass, mrgen_core.atomic\n"
            "import mrgen_core.retarget.target, mrgen_core.retarget.naming\n"
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
            "print(len(bad))\n")
    cp = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "0", f"importing the numpy parts imported torch ({cp.stdout.strip()} torch modules)"
