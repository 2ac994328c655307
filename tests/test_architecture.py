"""The package's shape (issue 16): no import cycles, no private names across modules.

These read the source with :mod:`ast`; nothing is imported. Imports inside
functions count as much as module-level ones, and importing ``a.b.c`` also
runs the ``__init__`` of ``a.b``, so an import of a submodule is an edge to its
parent packages too (the root package ``coachstats`` excepted: it is the
composition root that every import passes through).
"""

from __future__ import annotations

import ast
import re
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


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes inside ``if TYPE_CHECKING:`` blocks (never run)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _imports(
    name: str, path: Path, *, runtime_only: bool = False
) -> Iterator[tuple[str, str, int]]:
    """(target module, imported name or "", line) for every coachstats import in ``path``.

    With ``runtime_only`` the imports made for the type checker only are left out.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package_of(name, path)
    skip = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
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


def _graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path, runtime_only=runtime_only):
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


# --------------------------------------------------------------------------- the documented stages

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _stage(module: str) -> str:
    """The stage of a module: its package below ``coachstats``, ``present/report`` on its own."""
    parts = module.split(".")
    if parts[1:3] == ["present", "report"]:
        return "present/report"
    return parts[1] if len(parts) > 1 else ROOT


def _allowed_imports() -> dict[str, set[str]]:
    """The "stage | may import" table of docs/architecture.md."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| stage | may import |") :].split("\n\n")[0]
    allowed: dict[str, set[str]] = {}
    names = re.compile(r"`([a-z/]+)`")
    for line in table.splitlines()[2:]:
        stage_cell, imports_cell = line.strip("|").split("|", 1)
        everything = "every stage" in imports_cell
        for stage in names.findall(stage_cell):
            allowed[stage] = {"*"} if everything else set(names.findall(imports_cell))
    # "every stage above, `tasks` included": the report may import what tasks may, and tasks
    if "every stage above" in table:
        allowed["present/report"] = allowed["tasks"] | {"tasks", "present"}
    return allowed


def test_stages_import_only_what_docs_architecture_allows() -> None:
    allowed = _allowed_imports()
    assert {"core", "data", "derive", "compare", "plan", "tasks", "present/report"} <= set(allowed)
    graph = _graph(runtime_only=True)  # a type annotation's import runs nothing
    wrong = []
    for module, deps in graph.items():
        source = _stage(module)
        if source in (ROOT, "compat"):
            continue  # the composition root and the table of old names
        for dep in deps:
            target = _stage(dep)
            if target in (source, ROOT, "compat") or "*" in allowed.get(source, set()):
                continue
            if target not in allowed.get(source, set()):
                wrong.append(f"{module} ({source}) imports {dep} ({target})")
    assert not wrong, "\n".join(wrong)


def test_docs_architecture_lists_every_module_and_only_modules_that_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    listed = set(re.findall(r"\| `([a-z0-9_/]+\.py)` \|", text))
    files = {
        str(path.relative_to(SRC / ROOT))
        for path in (SRC / ROOT).rglob("*.py")
        if path.name != "__main__.py"
    }
    assert not files - listed, (
        f"modules missing from docs/architecture.md: {sorted(files - listed)}"
    )
    assert not listed - files, (
        f"docs/architecture.md lists modules that do not exist: {sorted(listed - files)}"
    )


#: The most lines a module may have: one job per module (the project's style rule).
MAX_MODULE_LINES = 800


def test_every_module_stays_under_the_line_limit() -> None:
    roots = [SRC, SRC.parent / "tools"]
    assert all(root.is_dir() for root in roots)
    long = {
        str(path.relative_to(root.parent)): n
        for root in roots
        for path in root.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"
