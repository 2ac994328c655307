"""The package's shape (issue 16): no import cycles, no private names across modules.

These read the source with :mod:`ast`; nothing is imported. Imports inside
functions count as much as module-level ones, and importing ``a.b.c`` also
runs the ``__init__`` of ``a.b``, so an import of a submodule is an edge to its
parent packages too (the root package ``coachstats`` excepted: it is the
composition root that every import passes through).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "coachstats"


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / ROOT).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def _imports(name: str, path: Path) -> Iterator[tuple[str, str, int]]:
    """(target module, imported name or "", line) for every coachstats import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package_of(name, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, "", node.lineno
                else:
                    yield target, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    yield alias.name, "", node.lineno


def _resolve(target: str) -> str | None:
    """The module a dotted import names (moved names resolve through coachstats.compat)."""
    from coachstats.compat import new_name

    if target in MODULES:
        return target
    moved = new_name(target)
    return moved if moved in MODULES else None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            resolved = _resolve(target)
            if resolved is None or resolved == name:
                continue
            parts = resolved.split(".")
            for k in range(2, len(parts) + 1):  # the module and its parent packages
                dep = ".".join(parts[:k])
                if dep in MODULES and dep != name and not name.startswith(dep + "."):
                    graph[name].add(dep)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles() -> None:
    graph = _graph()
    graph.pop(ROOT, None)
    for deps in graph.values():
        deps.discard(ROOT)
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_name_is_used_across_modules() -> None:
    offenders = []
    for name, path in MODULES.items():
        for target, imported, line in _imports(name, path):
            resolved = _resolve(target) or target
            private_module = any(p.startswith("_") for p in resolved.split(".")[1:])
            private_name = imported.startswith("_") and not imported.startswith("__")
            if resolved != name and (private_module or private_name):
                offenders.append(f"{path.relative_to(SRC)}:{line} uses {resolved}.{imported}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            (a.asname or a.name.split(".")[-1])
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for a in node.names
            if _resolve(a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}")
            not in (None, name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offenders.append(
                    f"{path.relative_to(SRC)}:{node.lineno} uses {node.value.id}.{node.attr}"
                )
    assert not offenders, "\n".join(offenders)
