"""The package layering: hdl <- golden <- host <- tb <- fast_prefill, with no back-edges and no
import circles (docs/architecture.md, "Layering").

Every import counts, the ones inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: a package may import only the packages of a lower rank (and itself)
LAYERS = {"hdl": 0, "golden": 1, "host": 2, "tb": 3, "fast_prefill": 4}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Project modules that ``path`` imports (absolute names; ``from X import Y`` yields X.Y
    when X.Y is a module, else X)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = _module_name(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = own.split(".")[: len(own.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(pkg + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] in LAYERS)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in LAYERS for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imp in _imports(path):
            # the longest prefix that is a module of the project
            parts = imp.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                deps.add(".".join(parts))
        graph[name] = deps
    return graph


def test_no_back_edges():
    bad = sorted(f"{m} imports {d}" for m, deps in _graph().items() for d in deps
                 if LAYERS[d.split(".")[0]] > LAYERS[m.split(".")[0]])
    assert not bad, "imports against the layering hdl <- golden <- host <- tb <- fast_prefill:\n" \
        + "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert not _cycles(_graph())


def test_cycle_finder_finds_a_circle():
    """The checks above can fail: a two-module circle and a back-edge are found."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_hdl_imports_without_torch():
    """hdl/ (the RTL generator) imports every unit without torch, golden or the CLI."""
    code = ("import sys; from hdl.convert import units, _unit_modules; _unit_modules(); "
            "import hdl.numerics, hdl.synth, hdl.toolchain; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'golden', 'tb', 'host', "
            "'fast_prefill')]; print(' '.join(bad)); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"hdl pulled in: {proc.stdout.strip()} {proc.stderr[-2000:]}"
