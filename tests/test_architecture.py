"""Imports point one way (docs/ARCHITECTURE.md): every module under webapp/ is read (its AST,
imports inside functions included), and no package may import one of a higher layer or take
part in an import cycle between packages."""

import ast
import functools
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.support.env import ROOT

# Bottom to top. A package is a directory under webapp/ or a module directly in it; the app
# factory (webapp/__init__.py) is "webapp". A package may import its own layer and those below.
LAYERS = [
    (
        "foundation",
        {
            "webapp.config",
            "webapp.extensions",
            "webapp.errors",
            "webapp.redaction",
            "webapp.logging_setup",
            "webapp.crypto",
            "webapp.queues",
            "webapp.params",
            "webapp.outbound",
            "webapp.samples",
            "webapp.timetable",
            "webapp.models",
            "webapp.audit_log",
            "webapp.auth",
            "webapp.metrics",
            "webapp.file_counts",
        },
    ),
    ("providers", {"webapp.providers"}),
    ("analysis", {"webapp.analysis"}),
    ("batch", {"webapp.batch"}),
    ("notifications", {"webapp.notifications"}),
    ("services", {"webapp.services"}),
    ("jobs", {"webapp.tasks", "webapp.worker"}),
    ("interfaces", {"webapp.api", "webapp.views", "webapp.cli"}),
    ("factory", {"webapp"}),
]
LAYER = {package: rank for rank, (_name, packages) in enumerate(LAYERS) for package in packages}
WEBAPP = os.path.join(ROOT, "webapp")


def modules():
    """{module name: path} of every module under webapp/."""
    found = {}
    for directory, _dirs, files in os.walk(WEBAPP):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name, path, known):
    """The webapp modules that module `name` imports, wherever in it the import stands."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import x`: module x, or a name defined in the package
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m == "webapp" or m.startswith("webapp.")}


def package_of(module):
    return ".".join(module.split(".")[:2])


@functools.lru_cache(maxsize=None)
def package_graph():
    known = modules()
    edges = defaultdict(set)  # package → {(imported package, importing module, imported module)}
    for name, path in known.items():
        for target in imports(name, path, known):
            if package_of(target) != package_of(name):
                edges[package_of(name)].add((package_of(target), name, target))
    return known, edges


def test_the_import_walk_sees_what_the_code_imports():
    known, edges = package_graph()
    assert "webapp.batch.status" in known and "webapp.tasks.files" in known
    assert ("webapp.providers", "webapp.batch.discovery", "webapp.providers.storage") in edges["webapp.batch"]
    assert ("webapp.batch", "webapp.tasks.files", "webapp.batch.processing") in edges["webapp.tasks"]
    # imports inside functions count too (the factory imports its blueprints in create_app)
    assert any(target == "webapp.views" for target, _m, _t in edges["webapp"])


def test_every_package_has_a_layer():
    known, _edges = package_graph()
    assert sorted({package_of(m) for m in known} - set(LAYER)) == []


def test_no_package_imports_a_higher_layer():
    _known, edges = package_graph()
    upward = sorted(
        f"{module} imports {target} ({LAYERS[LAYER[package_of(module)]][0]} → {LAYERS[LAYER[package]][0]})"
        for source, targets in edges.items()
        for package, module, target in targets
        if LAYER[package] > LAYER[source]
    )
    assert upward == []


def test_no_import_cycle_between_packages():
    _known, edges = package_graph()
    graph = {source: {package for package, _m, _t in targets} for source, targets in edges.items()}
    cycles, state = [], {}

    def visit(package, path):
        state[package] = "open"
        for target in sorted(graph.get(package, ())):
            if state.get(target) == "open":
                cycles.append(" → ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[package] = "done"

    for package in sorted(graph):
        if package not in state:
            visit(package, [package])
    assert cycles == []


@pytest.mark.slow
def test_importing_a_layer_loads_nothing_above_it():
    """Each layer imported in turn, bottom up, in one fresh interpreter: after each, no module
    of a higher layer may have been loaded."""
    known, _edges = package_graph()
    order = [sorted(m for m in known if LAYER[package_of(m)] == rank) for rank in range(len(LAYERS) - 1)]
    script = (
        "import importlib, json, sys\n"
        f"order, layer = {order!r}, {LAYER!r}\n"
        "package_of = lambda m: '.'.join(m.split('.')[:2])\n"
        "for rank, names in enumerate(order):\n"
        "    for name in names:\n"
        "        importlib.import_module(name)\n"
        "    above = sorted(m for m in sys.modules if m.startswith('webapp.') and layer.get(package_of(m), 0) > rank)\n"
        "    if above:\n"
        "        print(json.dumps([rank, above]))\n"
        "        break\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


TYPED = ("batch", "providers", "services")  # the packages whose public functions carry type hints


def unhinted_public_functions(path):
    """`file:line name` of each public function or method in the file missing a parameter's or
    the return's type hint (self and cls excepted)."""
    tree = ast.parse(open(path).read(), path)
    scopes = [tree] + [node for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_")]
    missing = []
    for scope in scopes:
        for node in scope.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
                continue
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            arguments += [a for a in (node.args.vararg, node.args.kwarg) if a]
            if scope is not tree and arguments and arguments[0].arg in ("self", "cls"):
                arguments = arguments[1:]
            if node.returns is None or any(a.annotation is None for a in arguments):
                missing.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {node.name}")
    return missing


def test_public_functions_of_the_core_packages_have_type_hints():
    missing = []
    for package in TYPED:
        for directory, _dirs, files in os.walk(os.path.join(WEBAPP, package)):
            for name in sorted(files):
                if name.endswith(".py"):
                    missing += unhinted_public_functions(os.path.join(directory, name))
    assert missing == []
