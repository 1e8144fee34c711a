"""Layer contract, read from the source with `ast` (nothing is imported):

- scorers/ is the library: it never imports pipeline/ or jobs/;
- pipeline/ runs scorers on Ray: it never imports jobs/ (the CLI and job submission);
- pipeline/ never names a scorer kind: it reaches a kind's package (a folder of scorers/ with
  a kind.py) only through scorers.registry and the hooks a kind offers, never a module of its
  own (the shape protocols the registry itself imports excepted);
- vllm and torch are heavy: they are imported inside the functions that start an engine or
  build a model, never at a module's top level, so the CLI, spec loading and unit tests never
  pay for them.

Every import counts for the layers: top level, inside functions, under `if TYPE_CHECKING:`,
relative imports (resolved), and importlib.import_module / __import__ with a literal name.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("vllm", "torch")


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # absolute dotted name
    in_function: bool
    type_checking_only: bool

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}: imports {self.module}"


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(path: Path, level: int, module: str | None) -> str:
    """The absolute name of `from <level dots><module> import ...` written in `path`."""
    if level == 0:
        return module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "__import__") or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )


def imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, in_function, type_checking)
        elif isinstance(node, ast.ImportFrom):
            module = resolve(path, node.level, node.module)
            yield Import(path, node.lineno, module, in_function, type_checking)
            if node.module is None:  # `from . import x`: x may be a module
                for alias in node.names:
                    name = f"{module}.{alias.name}" if module else alias.name
                    yield Import(path, node.lineno, name, in_function, type_checking)
        elif (
            isinstance(node, ast.Call)
            and is_dynamic_import(node)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(path, node.lineno, node.args[0].value, in_function, type_checking)
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, in_function, True)
            for child in node.orelse:
                yield from walk(child, in_function, type_checking)
            return
        nested = in_function or isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for child in ast.iter_child_nodes(node):
            yield from walk(child, nested, type_checking)

    yield from walk(tree, False, False)


def top_package(module: str) -> str:
    return module.split(".")[0]


def offending(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> tuple[int, list[str]]:
    files = [path for package in packages for path in python_files(package)]
    found = [
        found.where()
        for path in files
        for found in imports(path)
        if top_package(found.module) in forbidden
    ]
    return len(files), found


def test_scorers_never_import_pipeline_or_jobs():
    n_files, found = offending(("scorers",), ("pipeline", "jobs"))
    assert n_files > 0, f"no Python files under {ROOT / 'scorers'}"
    assert not found, "scorers/ must not import pipeline/ or jobs/:\n" + "\n".join(found)


def test_pipeline_never_imports_jobs():
    n_files, found = offending(("pipeline",), ("jobs",))
    assert n_files > 0, f"no Python files under {ROOT / 'pipeline'}"
    assert not found, "pipeline/ must not import jobs/:\n" + "\n".join(found)


# Kind modules pipeline/ still imports, each with why; a pair no longer found fails too, so the
# list only shrinks.
KIND_IMPORTS_LEFT: dict[tuple[str, str], str] = {}


def kind_packages() -> list[str]:
    return sorted(module_name(path.parent) for path in (ROOT / "scorers").glob("*/kind.py"))


def registry_imports() -> set[str]:
    return {found.module for found in imports(ROOT / "scorers" / "registry.py")}


def test_pipeline_names_no_scorer_kind():
    packages = kind_packages()
    assert "scorers.checklist" in packages, packages
    allowed = registry_imports()
    found = {
        (found.path.relative_to(ROOT).as_posix(), found.module)
        for path in python_files("pipeline")
        for found in imports(path)
        if any(found.module.startswith(f"{p}.") for p in packages) and found.module not in allowed
    }
    unexplained = sorted(found - set(KIND_IMPORTS_LEFT))
    assert not unexplained, (
        "pipeline/ must reach a scorer kind through scorers.registry (hooks_of), not import "
        "its modules:\n" + "\n".join(f"{path}: imports {module}" for path, module in unexplained)
    )
    gone = sorted(set(KIND_IMPORTS_LEFT) - found)
    assert not gone, f"no longer imported, drop from KIND_IMPORTS_LEFT: {gone}"


def test_heavy_libraries_are_imported_only_inside_functions():
    files = [path for package in ("pipeline", "scorers", "jobs") for path in python_files(package)]
    assert files, f"no Python files under {ROOT}"
    found = [
        found.where()
        for path in files
        for found in imports(path)
        if top_package(found.module) in HEAVY
        and not found.in_function
        and not found.type_checking_only  # never runs
    ]
    assert not found, (
        f"{', '.join(HEAVY)} must be imported inside the function that needs them, "
        "not at a module's top level:\n" + "\n".join(found)
    )


def test_the_scanner_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The checks above are only as good as the scanner: it must not miss an import."""
    package = tmp_path / "scorers" / "sub"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    module = package / "mod.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "import pipeline.spec\n"
        "if TYPE_CHECKING:\n"
        "    from pipeline.spec import JobSpec\n"
        "def f():\n"
        "    from jobs import cli\n"
        "    import torch\n"
        "class C:\n"
        "    import vllm\n"
        "from .. import judged\n"
        "from ..x import y\n"
        "import importlib\n"
        "importlib.import_module('jobs.submit')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    got = [(i.line, i.module, i.in_function, i.type_checking_only) for i in imports(module)]
    assert (2, "pipeline.spec", False, False) in got
    assert (4, "pipeline.spec", False, True) in got
    assert (6, "jobs", True, False) in got
    assert (7, "torch", True, False) in got
    assert (9, "vllm", False, False) in got  # a class body runs at import
    assert (10, "scorers.judged", False, False) in got
    assert (11, "scorers.x", False, False) in got
    assert (13, "jobs.submit", False, False) in got
