"""The shape of the package, read from its source: imports, docstrings, faces, sizes, the docs page.

Everything here parses files with :mod:`ast` and imports nothing from the package, so a broken
module cannot hide a structural fault and the checks run in milliseconds. The rules:

- no import cycle between the package's modules, counting imports inside functions and ignoring
  ``if TYPE_CHECKING:`` blocks; a package ``__init__`` importing its own submodules is no edge
  (that is how a face re-exports);
- every module has a docstring (what it knows and what it does not);
- every public package face (``__init__.py`` of the top package and of each sub-package whose
  name has no leading ``_``) defines ``__all__``, and every name in it is really bound: defined
  there, or imported from a module that binds it, or resolved lazily by a ``__getattr__`` table;
- no module is over :data:`MAX_LINES` lines, except the ones in :data:`OVERSIZE` (being split);
- docs/design.md, "The house", has one row per module, so the architecture page cannot drift.

The check functions take the root to read, so the self-tests at the end can prove, on a small
generated tree, that each check can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "langchain_flexai"
DESIGN = ROOT / "docs" / "design.md"

MAX_LINES = 600
# Modules over MAX_LINES today, each being split; a new oversize module fails, and so does an
# entry here that is no longer oversize (so the list only shrinks).
OVERSIZE: frozenset[str] = frozenset()


# -- reading the tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    """One ``.py`` file of the package."""

    name: str
    """Dotted name; a package's ``__init__.py`` is named after the package."""
    path: Path
    rel: str
    """Path relative to the package root, with ``/``."""
    tree: ast.Module

    @property
    def is_init(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_init else self.name.rpartition(".")[0]


def read_modules(package_dir: Path) -> dict[str, Module]:
    """Every module under ``package_dir`` (which is itself the top package), by dotted name."""
    modules: dict[str, Module] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(package_dir).as_posix()
        parts = [package_dir.name, *rel[: -len(".py")].split("/")]
        if parts[-1] == "__init__":
            parts.pop()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules[".".join(parts)] = Module(".".join(parts), path, rel, tree)
    return modules


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` except the bodies of ``if TYPE_CHECKING:`` (their else runs)."""
    for child in ast.iter_child_nodes(node):
        yield child
        if _is_type_checking(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
        else:
            yield from _runtime_nodes(child)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _owner(name: str, modules: dict[str, Module]) -> str | None:
    """The package module a dotted import name lands in (its longest known prefix)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Module -> the package modules it imports at run time (module level or in functions)."""
    edges: dict[str, set[str]] = {}
    for name, module in modules.items():
        targets: set[str] = set()
        for node in _runtime_nodes(module.tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, node)
                imported = [source, *(f"{source}.{alias.name}" for alias in node.names)]
            else:
                continue
            for dotted in imported:
                owner = _owner(dotted, modules)
                if owner is None or owner == name:
                    continue
                if module.is_init and owner.startswith(name + "."):
                    continue  # a face re-exporting its own submodules
                targets.add(owner)
        edges[name] = targets
    return edges


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the package is far below recursion limits
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted((_cycle_in(component, edges) for component in components), key=lambda c: c[0])


def _cycle_in(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in component {sorted(component)}")  # pragma: no cover


def _show(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


def _names_bound_by(node: ast.stmt) -> list[str]:
    """Names one simple statement binds (definitions, assignments, imports)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [leaf.id for t in targets for leaf in ast.walk(t) if isinstance(leaf, ast.Name)]
    if isinstance(node, ast.Import | ast.ImportFrom):
        bound = [alias.asname or alias.name.partition(".")[0] for alias in node.names]
        return [name for name in bound if name != "*"]
    return []


def _top_level_bindings(body: list[ast.stmt]) -> Iterator[tuple[str, ast.stmt]]:
    """Names a module body binds at import time, with the statement binding each."""
    for node in body:
        for name in _names_bound_by(node):
            yield name, node
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _top_level_bindings(node.body)
            yield from _top_level_bindings(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level_bindings(block)


def _lazy_table(module: Module) -> dict[str, str]:
    """Name -> submodule of a ``__getattr__`` face: a module-level dict of string to string."""
    names = dict(_top_level_bindings(module.tree.body))
    if not isinstance(names.get("__getattr__"), ast.FunctionDef):
        return {}
    table: dict[str, str] = {}
    for node in module.tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(value, ast.Constant)
                    and isinstance(key.value, str)
                    and isinstance(value.value, str)
                ):
                    table[key.value] = f"{module.package}.{value.value}"
    return table


def unbound(module: Module, name: str, modules: dict[str, Module], seen: frozenset[str]) -> str:
    """Why ``from module import name`` would fail, or ``""`` when it works."""
    key = f"{module.name}.{name}"
    if key in seen:
        return f"{key} is imported in a circle"
    if module.is_init and key in modules:
        return ""  # a submodule is importable from its package
    node = dict(_top_level_bindings(module.tree.body)).get(name)
    if node is None:
        return _unbound_lazy(module, name, modules, seen | {key})
    if isinstance(node, ast.ImportFrom):
        alias = next(a for a in node.names if (a.asname or a.name) == name)
        return _unbound_import(_absolute(module, node), alias.name, modules, seen | {key})
    return ""


def _unbound_lazy(
    module: Module, name: str, modules: dict[str, Module], seen: frozenset[str]
) -> str:
    target = _lazy_table(module).get(name)
    if target is None:
        return f"{module.name} does not bind {name!r}"
    if target not in modules:
        return f"{module.name}.__getattr__ sends {name!r} to {target}, which does not exist"
    return unbound(modules[target], name, modules, seen)


def _unbound_import(
    source: str, name: str, modules: dict[str, Module], seen: frozenset[str]
) -> str:
    top = min(modules, key=len)
    if (source != top and not source.startswith(top + ".")) or f"{source}.{name}" in modules:
        return ""  # from outside the package (not ours to check), or a submodule
    if source not in modules:
        return f"{name!r} is imported from {source}, which does not exist"
    return unbound(modules[source], name, modules, seen)


def face_problems(modules: dict[str, Module]) -> list[str]:
    """What is wrong with the ``__all__`` of every public face."""
    problems = []
    for name, module in sorted(modules.items()):
        if not module.is_init or any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        declared = [
            node.value
            for node in module.tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        ]
        if not declared:
            problems.append(f"{module.rel}: no __all__")
            continue
        value = declared[-1]
        if not isinstance(value, ast.List | ast.Tuple) or not all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            problems.append(f"{module.rel}: __all__ is not a literal list of strings")
            continue
        names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
        twice = sorted({n for n in names if names.count(n) > 1})
        problems += [f"{module.rel}: {n!r} twice in __all__" for n in twice]
        for exported in names:
            why = unbound(module, exported, modules, frozenset())
            if why:
                problems.append(f"{module.rel}: __all__ names {exported!r}, but {why}")
    return problems


_ROW = re.compile(r"^\|\s*`(?P<module>[\w./]+)`\s*\|", re.MULTILINE)


def design_rows(page: str) -> set[str]:
    """The modules "The house" section lists, as paths relative to the package (``x/`` = face)."""
    match = re.search(r"^## The house\b.*?(?=^## |\Z)", page, re.MULTILINE | re.DOTALL)
    if match is None:
        return set()
    rows = set()
    for row in _ROW.finditer(match.group()):
        module = row["module"]
        rows.add(f"{module}__init__.py" if module.endswith("/") else module)
    return rows


def design_drift(modules: dict[str, Module], page: str) -> list[str]:
    """Rows to add (with each module's docstring summary) and rows to remove."""
    listed = design_rows(page)
    tree = {m.rel: m for m in modules.values()}
    problems = []
    for rel in sorted(set(tree) - listed):
        summary = (ast.get_docstring(tree[rel].tree) or "").partition("\n")[0]
        shown = rel.removesuffix("__init__.py") or "__init__.py"
        problems.append(f"missing: | `{shown}` | {summary} |")
    problems += [f"stale (no such module): {rel}" for rel in sorted(listed - set(tree))]
    return problems


_CITED_PAGE = re.compile(r"\bdocs/(?P<page>[\w.-]+\.md)")
_CITED_ROWS = re.compile(r"\b[Rr]ows? (?P<rows>\d+[a-z]?(?:(?:, | and )\d+[a-z]?)*)\b")
_SHAPES_SECTION = "### Every accepted shape, and what happens to it"


def shape_rows(page: str) -> set[str]:
    """The row numbers of the content-shape table in docs/images.md."""
    section = page.partition(_SHAPES_SECTION)[2].partition("\n#")[0]
    return set(re.findall(r"^\|\s*(\d+[a-z]?)\s*\|", section, re.MULTILINE))


def citation_problems(sources: list[Path], docs: Path) -> list[str]:
    """Cited docs pages that do not exist, and cited content-shape rows the table lacks."""
    rows = shape_rows((docs / "images.md").read_text(encoding="utf-8"))
    problems = []
    for source in sources:
        text = source.read_text(encoding="utf-8")
        where = source.relative_to(docs.parent).as_posix()
        pages = [m["page"] for m in _CITED_PAGE.finditer(text)]
        missing = [page for page in pages if not (docs / page).is_file()]
        problems += [f"{where} cites docs/{page}, which does not exist" for page in missing]
        cited = [r for m in _CITED_ROWS.finditer(text) for r in re.split(r", | and ", m["rows"])]
        unknown = [row for row in cited if row not in rows]
        problems += [
            f"{where} cites row {row}, not in docs/images.md's shape table" for row in unknown
        ]
    return problems


def line_counts(modules: dict[str, Module]) -> dict[str, int]:
    return {m.rel: len(m.path.read_text(encoding="utf-8").splitlines()) for m in modules.values()}


# -- the package ------------------------------------------------------------------------------

MODULES = read_modules(PACKAGE)


def test_no_import_cycles() -> None:
    cycles = import_cycles(import_edges(MODULES))
    assert cycles == [], f"import cycles between package modules:\n{_show(cycles)}"


def test_every_module_has_a_docstring() -> None:
    missing = [m.rel for m in MODULES.values() if not (ast.get_docstring(m.tree) or "").strip()]
    assert missing == [], f"modules without a docstring saying what they know: {missing}"


def test_every_public_face_declares_importable_names() -> None:
    problems = face_problems(MODULES)
    assert problems == [], "\n".join(problems)


def test_no_new_oversize_module() -> None:
    over = {rel: n for rel, n in line_counts(MODULES).items() if n > MAX_LINES}
    new = {rel: n for rel, n in over.items() if rel not in OVERSIZE}
    assert new == {}, f"modules over {MAX_LINES} lines (split them by concern): {new}"


def test_oversize_allow_list_only_holds_oversize_modules() -> None:
    counts = line_counts(MODULES)
    done = sorted(rel for rel in OVERSIZE if counts.get(rel, 0) <= MAX_LINES)
    assert done == [], f"no longer over {MAX_LINES} lines (or gone): drop from OVERSIZE: {done}"


def test_design_page_lists_every_module() -> None:
    problems = design_drift(MODULES, DESIGN.read_text(encoding="utf-8"))
    assert problems == [], "docs/design.md, section 'The house':\n" + "\n".join(problems)


def test_cited_pages_and_content_shape_rows_exist() -> None:
    sources = sorted({*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py")} - {Path(__file__)})
    assert len(shape_rows((ROOT / "docs" / "images.md").read_text(encoding="utf-8"))) >= 32
    problems = citation_problems(sources, ROOT / "docs")
    assert problems == [], "\n".join(problems)


# -- the checks themselves, on a small generated tree -----------------------------------------


def _tree(root: Path, files: dict[str, str]) -> dict[str, Module]:
    package = root / "pkg"
    for rel, text in files.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return read_modules(package)


def test_cycles_count_function_imports_and_relative_ones(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": '"""Face."""\nfrom pkg.a import f\n',
            "a.py": '"""A."""\nfrom .sub import b\n\ndef f():\n    return b\n',
            "sub/__init__.py": '"""Sub."""\nfrom pkg.sub.b import g\n',
            "sub/b.py": '"""B."""\ndef g():\n    from ..c import h\n    return h\n',
            "c.py": '"""C."""\ndef h():\n    import pkg.a\n    return pkg.a\n',
        },
    )
    assert _show(import_cycles(import_edges(modules))) == "pkg.a -> pkg.sub.b -> pkg.c -> pkg.a"


def test_cycles_ignore_type_checking_and_faces(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": '"""Face."""\nfrom pkg.a import f\nfrom pkg.b import g\n',
            "a.py": '"""A."""\nfrom pkg.b import g\ndef f():\n    return g\n',
            "b.py": '"""B."""\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n'
            "    from pkg.a import f\nelse:\n    import json\ndef g():\n    return 1\n",
        },
    )
    assert import_edges(modules) == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert import_cycles(import_edges(modules)) == []


def test_face_check_names_what_cannot_be_imported(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": '"""Face."""\nfrom pkg._a import f, gone\n'
            '__all__ = ["f", "gone", "x"]\n',
            "_a.py": '"""A."""\nfrom pkg._b import gone\ndef f():\n    return 1\n',
            "_b.py": '"""B."""\n',
            "lazy/__init__.py": '"""Lazy."""\n_EXPORTS = {"F": "_m", "G": "_m"}\n'
            '__all__ = ["F", "G"]\ndef __getattr__(name):\n    raise AttributeError(name)\n',
            "lazy/_m.py": '"""M."""\nF = 1\n',
            "open/__init__.py": '"""No list."""\n',
            "_private/__init__.py": '"""Private: needs no __all__."""\n',
        },
    )
    assert face_problems(modules) == [
        "__init__.py: __all__ names 'gone', but pkg._b does not bind 'gone'",
        "__init__.py: __all__ names 'x', but pkg does not bind 'x'",
        "lazy/__init__.py: __all__ names 'G', but pkg.lazy._m does not bind 'G'",
        "open/__init__.py: no __all__",
    ]


def test_design_check_names_missing_and_stale_rows(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {"__init__.py": '"""Face."""\n', "a.py": '"""Does A.\n\nMore."""\n', "s/__init__.py": ""},
    )
    page = "# Design\n\n## The house\n\n| `__init__.py` | face |\n| `gone.py` | old |\n\n## Next\n"
    page += "| `a.py` | listed outside the section: does not count |\n"
    assert design_drift(modules, page) == [
        "missing: | `a.py` | Does A. |",
        "missing: | `s/` |  |",
        "stale (no such module): gone.py",
    ]


def test_citation_check_names_missing_pages_and_rows(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "images.md").write_text(
        f"# Images\n\n{_SHAPES_SECTION}\n\n| # | in | out |\n|---|---|---|\n| 1 | a | b |\n"
        "| 2 | c | d |\n\n## Errors\n\n| 3 | not the table | x |\n",
        encoding="utf-8",
    )
    source = tmp_path / "m.py"
    source.write_text("# rows 1 and 2 (docs/images.md); row 3, docs/gone.md\n", encoding="utf-8")
    assert citation_problems([source], docs) == [
        "m.py cites docs/gone.md, which does not exist",
        "m.py cites row 3, not in docs/images.md's shape table",
    ]
