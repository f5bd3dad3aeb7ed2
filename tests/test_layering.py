"""The layering of finkpi's code, checked with `ast` (no import runs).

Every module sits on one floor; a module may import from its own floor and the floors below, never
from above. Within a floor, imports must not form a cycle. Imports between finkpi modules sit at the
top of the module, where the layering is visible: a function-level `from finkpi...` is how cycles
used to hide. The floors are described in README.md ("Code layout").
"""

from __future__ import annotations

import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("finkpi", "orchestration")

# Floor -> module prefixes (a prefix matches the module and its submodules; the longest wins).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the source registry, the published contract, file hashing, fault injection, the base of the
    # failures a command reports: import nothing above
    (
        "ground",
        ("finkpi", "finkpi.sources", "finkpi.contract", "finkpi.files", "finkpi.faults", "finkpi.errors"),
    ),
    # environment -> dbt target and paths; reads the source registry
    ("settings", ("finkpi.settings",)),
    # what the steps are made of: audit store and provenance, data-quality rules and GX, dbt in
    # process, column lineage and OpenLineage, the metric definitions (catalog, governance,
    # certification), the sample generator, the Run object (start/end records, events, report) and
    # the incremental plan (what a run recomputes)
    (
        "building blocks",
        (
            "finkpi.audit",
            "finkpi.quality",
            "finkpi.dbt_runner",
            "finkpi.lineage",
            "finkpi.metrics.definition",
            "finkpi.metrics.computed",
            "finkpi.metrics.catalog",
            "finkpi.metrics.governance",
            "finkpi.metrics.certification",
            "finkpi.generate",
            "finkpi.run",
            "finkpi.incremental",
        ),
    ),
    # MetricFlow engine, queries and the metric exports (which read the lineage for certification)
    ("metrics", ("finkpi.metrics",)),
    # the later steps: scorecards and the metric tree, publish with close/reopen
    ("steps", ("finkpi.scorecards", "finkpi.publish")),
    # one run of every step, on DuckDB or Spark
    ("pipeline", ("finkpi.pipeline", "finkpi.spark")),
    # the faces
    ("faces", ("finkpi.api", "finkpi.cli")),
    # Dagster calls the same steps; nothing in finkpi imports it
    ("orchestration", ("orchestration",)),
)
FLOOR_NAMES = [name for name, _ in FLOORS]

# Function-level imports between finkpi modules that stay, with why. Only for modules whose import
# must not happen at import time (a heavy optional dependency behind them). None today.
FUNCTION_LEVEL_EXCEPTIONS: dict[tuple[str, str], str] = {}

# Third-party packages finkpi itself never imports at module top (optional or heavy; see the
# comments at their function-level imports).
NOT_AT_TOP_IN_FINKPI = ("dagster", "pyspark", "great_expectations")


def floor_of(module: str) -> int:
    best = None
    for index, (_name, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            exact_only = prefix == "finkpi"  # the package root holds only __version__
            matches = module == prefix or (not exact_only and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    if best is None:
        raise KeyError(f"{module} is on no floor: add it to FLOORS in tests/test_layering.py")
    return best[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_modules(root: Path = ROOT) -> dict[str, tuple[Path, str]]:
    return {
        module_name(path, root): (path, path.read_text(encoding="utf-8"))
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the module loaded (or the third-party package)
    line: int
    in_function: bool


def imports_of(module: str, path: Path, source: str, known: set[str]) -> list[Import]:
    """Every import in `source`, resolved to the module it loads (`from finkpi import pipeline` ->
    finkpi.pipeline, `from finkpi import __version__` -> finkpi), marked when inside a function."""
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def add(node, target, in_function):
        found.append(Import(module, target, node.lineno, in_function))

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(child, alias.name, in_function)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importing package
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, base] if base else package)
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    add(child, candidate if candidate in known else base, in_function)
            walk(child, inside)

    walk(ast.parse(source, filename=str(path)), False)
    return found


def internal(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


def layering_problems(modules: dict[str, tuple[Path, str]], root: Path = ROOT) -> list[str]:
    """Every breach of the layering in `modules` (name -> (path, source)), one line each."""
    known = set(modules)
    problems = []
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, source) in modules.items():
        for imp in imports_of(name, path, source, known):
            where = f"{path.relative_to(root)}:{imp.line}"
            top = imp.target.split(".")[0]
            if top in NOT_AT_TOP_IN_FINKPI and name.startswith("finkpi") and not imp.in_function:
                problems.append(
                    f"{where}: {name} imports {imp.target} at module top (load it where it is used)"
                )
            if not internal(imp.target) or imp.target == name:
                continue
            if imp.in_function and (name, imp.target) not in FUNCTION_LEVEL_EXCEPTIONS:
                problems.append(
                    f"{where}: {name} imports {imp.target} inside a function (move it to the top)"
                )
            mine, theirs = floor_of(name), floor_of(imp.target)
            if theirs > mine:
                problems.append(
                    f"{where}: {name} (floor {FLOOR_NAMES[mine]!r}) imports {imp.target}"
                    f" (floor {FLOOR_NAMES[theirs]!r}, higher)"
                )
            if imp.target in graph and not imp.target.startswith(name + "."):
                graph[name].add(imp.target)  # a package importing its own submodules is no cycle
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        problems.append(f"import cycle: {' -> '.join(exc.args[1])}")
    return problems


def test_every_module_is_on_a_floor():
    for name in read_modules():
        floor_of(name)  # raises, naming the module, when none matches


def test_no_module_imports_from_a_higher_floor_nor_inside_a_function():
    problems = layering_problems(read_modules())
    assert not problems, "layering broken (see tests/test_layering.py FLOORS):\n" + "\n".join(problems)


def test_exceptions_still_exist():
    """A documented exception whose import is gone must leave the list."""
    modules = read_modules()
    known = set(modules)
    present = {
        (imp.importer, imp.target)
        for name, (path, source) in modules.items()
        for imp in imports_of(name, path, source, known)
        if imp.in_function
    }
    assert set(FUNCTION_LEVEL_EXCEPTIONS) <= present


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # the settings floor reaching up into publish
            {"finkpi/settings.py": "from finkpi.publish import versions\n", "finkpi/publish/versions.py": ""},
            "finkpi.settings (floor 'settings') imports finkpi.publish.versions (floor 'steps', higher)",
        ),
        (  # an import hidden in a function
            {
                "finkpi/audit/store.py": "def f():\n    from finkpi import contract\n",
                "finkpi/contract.py": "",
            },
            "finkpi.audit.store imports finkpi.contract inside a function",
        ),
        (  # a cycle within one floor
            {
                "finkpi/lineage/a.py": "from finkpi.lineage import b\n",
                "finkpi/lineage/b.py": "from . import a\n",
            },
            "import cycle: finkpi.lineage.",
        ),
        (  # dagster loaded by the core
            {"finkpi/run.py": "import dagster\n"},
            "finkpi.run imports dagster at module top",
        ),
    ],
)
def test_the_checker_finds_breaches(tmp_path, files, expected):
    for relative, source in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    modules = {
        module_name(path, tmp_path): (path, path.read_text()) for path in sorted(tmp_path.rglob("*.py"))
    }
    problems = layering_problems(modules, tmp_path)
    assert any(expected in problem for problem in problems), problems
