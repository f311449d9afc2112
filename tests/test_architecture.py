"""The shape of the code (issue 24): the pipeline's stages import only earlier ones, the class's
tools and interactive use sit on top of the pipeline, and no module imports one that imports
it back. Read from the source with ast (every import, lazy ones inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "nnreport"

# the level of each part: a module imports only parts at its own level or below
LEVELS = {
    "budgets": 0, "errors": 0, "csvout": 0, "outdir": 0,
    "spec": 1, "engine": 2, "jsonout": 2, "render": 3, "document": 4, "compile": 5,
    "build": 6, "course": 7, "interactive": 7, "cli": 8, "__init__": 8, "__main__": 8,
}


def modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = f.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)] if node.level \
                    else []
                t = ".".join(base + [node.module]) if node.module and node.level else \
                    ".".join(base) if node.level else (node.module or "")
                subs = [f"{t}.{a.name}" for a in node.names if f"{t}.{a.name}" in mods]
                targets = subs or [t]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[m] |= {t for t in targets if t in mods and t != m}
    return edges


def part(module: str) -> str:
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else "__init__"


def test_every_part_has_a_level():
    assert {part(m) for m in modules()} <= set(LEVELS), {part(m) for m in modules()} - set(LEVELS)


def test_each_part_imports_only_its_level_and_below():
    wrong = [(m, t) for m, ts in graph().items() for t in ts
             if LEVELS[part(t)] > LEVELS[part(m)]]
    assert not wrong, wrong


def test_no_import_circles():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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
                circles.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    assert not circles, circles


def test_modules_stay_a_few_hundred_lines():
    long = {str(f.relative_to(ROOT)): n for f in ROOT.rglob("*.py")
            if (n := len(f.read_text().splitlines())) > 500}
    assert not long, long
