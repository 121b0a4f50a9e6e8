"""The package layout holds its rules: imports point down, nobody reaches into private names.

Layers, high to low (DESIGN.md): ``cli``, ``ui`` -> ``compute``, ``sim``, ``pipeline`` -> ``io`` ->
numerics and ``geometry`` -> ``_types``, ``_numba``, ``_version``, ``errors``. A module may import its
own layer's modules only where listed below; only ``cli`` and ``ui.app`` import ``sim``. Checked on
the import graph of every module (module-level and function-level imports alike), read with ``ast``.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "pairscope"

NUMERICS = {"coherence", "_boxcar", "pairs", "bursts", "render", "qa"}
BASE = {"_types", "_numba", "_version", "errors"}


def layer(module: str) -> int:
    """Rank of a ``pairscope.*`` module: higher layers may import lower ones."""
    parts = module.split(".")[1:]
    if not parts:
        return 6  # the package root: the curated public API imports everything
    head = parts[0]
    if head in BASE:
        return 0
    if head in NUMERICS or head == "geometry":
        return 1
    if head == "io":
        return 2
    if head in {"pipeline", "compute", "sim"}:
        return 3
    if head in {"ui", "cli"}:
        return 4
    raise AssertionError(f"module {module} has no layer: add it to tests/test_05_architecture.py")


#: Same-layer imports that are part of the design (caller head -> allowed callee heads).
SAME_LAYER = {
    "compute": {"pipeline"},
    "sim": {"pipeline", "sim"},
    "pipeline": set(),
    "io": {"io"},
    "geometry": {"geometry"},
    "coherence": {"_boxcar", "pairs"},
    "qa": {"coherence", "geometry"},
    "render": set(),
    "pairs": set(),
    "bursts": set(),
    "_boxcar": set(),
    "ui": {"ui"},
    "cli": {"ui"},
}


def modules() -> Iterator[tuple[str, pathlib.Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").is_file()


def imports(module: str, path: pathlib.Path) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every pairscope import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pairscope"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("pairscope"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if (SRC.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or is_package(sub):
                    yield sub, None, node.lineno  # a submodule
                else:
                    yield base, alias.name, node.lineno


def head(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


ALL = list(modules())


def test_every_module_has_a_layer() -> None:
    for module, _ in ALL:
        layer(module)


@pytest.mark.parametrize(("module", "path"), ALL, ids=[m for m, _ in ALL])
def test_imports_point_down(module: str, path: pathlib.Path) -> None:
    problems = []
    for target, name, line in imports(module, path):
        if module == "pairscope" or target == module or target.startswith(module + "."):
            continue  # the root API and a package's own submodules
        if module.startswith(target + ".") and name is not None:
            problems.append(f"line {line}: {module} imports {name} from its parent package {target}")
            continue
        mine, theirs = layer(module), layer(target)
        if head(target) == "sim" and not (module == "pairscope.cli" or module == "pairscope.ui.app"
                                          or head(module) == "sim"):
            problems.append(f"line {line}: {module} imports {target}: only cli and ui.app import sim")
        elif theirs > mine:
            problems.append(f"line {line}: {module} (layer {mine}) imports {target} (layer {theirs})")
        elif (theirs == mine and head(target) != head(module)
              and head(target) not in SAME_LAYER.get(head(module), set())):
            problems.append(f"line {line}: {module} imports {target} of its own layer")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("module", "path"), ALL, ids=[m for m, _ in ALL])
def test_no_private_names_imported(module: str, path: pathlib.Path) -> None:
    problems = [
        f"line {line}: {module} imports private name {name} from {target}"
        for target, name, line in imports(module, path)
        if name is not None and name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("module", "path"), ALL, ids=[m for m, _ in ALL])
def test_no_private_attributes_of_other_modules(module: str, path: pathlib.Path) -> None:
    """``mod._name`` where ``mod`` is another pairscope module imported under a name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pairscope"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if (SRC.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or is_package(sub):
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pairscope") and alias.asname:
                    aliases.add(alias.asname)
    problems = [
        f"line {node.lineno}: {module} uses {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in aliases and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert not problems, "\n".join(problems)


def test_numerics_never_import_io_or_ui() -> None:
    for module, path in ALL:
        if head(module) in NUMERICS or head(module) == "geometry":
            bad = [t for t, _, _ in imports(module, path) if head(t) in {"io", "ui", "sim", "pipeline", "compute", "cli"}]
            assert not bad, f"{module} imports {bad}"


def test_the_public_api_is_exported() -> None:
    import pairscope

    for name in ("open_catalog", "search_bursts", "list_acquisitions", "open_slc_stack",
                 "select_pairs", "estimate", "estimate_pairs", "look_geometry", "geocode",
                 "compute_pairs", "export_pair", "export_pairs", "export_png", "validate_item",
                 "PairscopeError", "parse_pair_rule", "parse_window"):
        assert name in pairscope.__all__ and getattr(pairscope, name) is not None, name


def test_every_error_derives_from_pairscope_error() -> None:
    import inspect

    import pairscope
    from pairscope import errors

    for module, _ in ALL:
        if head(module) in {"ui", "sim"}:
            continue
        mod = __import__(module, fromlist=["_"])
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__.startswith("pairscope"):
                assert issubclass(obj, errors.PairscopeError), f"{module}.{name}"
    assert pairscope.CatalogError is errors.CatalogError
