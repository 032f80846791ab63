"""The layering rule of ARCHITECTURE.md, checked on the source: an app of the pillars (services,
governance, collaboration) imports another pillar app only through its ``services``,
``selectors`` or ``events`` module; base apps (``identity``, ``core``, ...) freely.

Reaching into a neighbour's ``models`` (or ``api``, ``views``, ``forms``...) couples the two
apps' tables and internals: a change of the catalog's schema would break cases silently, and
the neighbour's authorization and query shaping are bypassed. Imports under
``if TYPE_CHECKING:`` are for annotations only and allowed. Foreign keys by string
(``"catalog.ServiceItemVersion"``) are not imports and stay fine. Tests and migrations are not
scanned: tests build their worlds from any app's models.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "yiwang"

# The pillar apps of ARCHITECTURE.md ("Layers and apps"); the ones not written yet are skipped
# until they exist, and are then checked without a change here.
PILLAR_APPS = frozenset(
    {
        "catalog",
        "cases",
        "licenses",
        "evaluation",
        "policies",
        "hotline",
        "supervision",
        "analytics",
        "oversight",
        "documents",
        "messaging",
        "payments",
        "appointments",
        "channels",
        "publicity",
    }
)
PUBLIC_MODULES = frozenset({"services", "selectors", "events"})

# (importing file relative to src/yiwang, imported module): why it is tolerated for now.
# Empty: every pillar app keeps the rule. Add an entry only with a reason and a plan.
ALLOWED: dict[tuple[str, str], str] = {}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import outside ``if TYPE_CHECKING:`` blocks, in functions
    too; ``from a import b`` yields ``a.b`` (``b`` may be a module). ``package`` resolves
    relative imports."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def violations(source: str, *, app: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of the imports in ``source`` (a module of ``app``) that reach into
    another pillar app other than through its public modules."""
    bad = []
    for line, module in _imported_modules(ast.parse(source), package):
        parts = module.split(".")
        if parts[0] != "yiwang" or len(parts) < 2:
            continue
        other = parts[1]
        if other == app or other not in PILLAR_APPS:
            continue
        if len(parts) < 3 or parts[2] not in PUBLIC_MODULES:
            bad.append((line, module))
    return bad


def _app_sources() -> list[tuple[str, Path]]:
    sources = []
    for app in sorted(PILLAR_APPS):
        root = SRC / app
        for path in sorted(root.rglob("*.py")) if root.is_dir() else ():
            relative = path.relative_to(root).parts
            if relative[0] in ("tests", "migrations"):
                continue
            sources.append((app, path))
    return sources


def test_pillar_apps_reach_each_other_only_through_services_selectors_and_events():
    sources = _app_sources()
    scanned = {app for app, _ in sources}
    assert {"catalog", "cases", "licenses", "messaging"} <= scanned  # the scan sees the apps
    found = []
    for app, path in sources:
        relative = path.relative_to(SRC)
        package = ".".join(["yiwang", *relative.parent.parts])
        for line, module in violations(path.read_text(encoding="utf-8"), app=app, package=package):
            if (relative.as_posix(), module) not in ALLOWED:
                found.append(f"{relative}:{line} imports {module}")
    assert not found, "imports another pillar app's internals (use its services/selectors):\n" + "\n".join(found)


def test_allow_list_names_only_violations_that_still_exist():
    """A stale allow-list entry would let the violation come back unnoticed."""
    for (relative, module), reason in ALLOWED.items():
        app = relative.split("/")[0]
        package = ".".join(["yiwang", *Path(relative).parent.parts])
        source = (SRC / relative).read_text(encoding="utf-8")
        assert module in {m for _, m in violations(source, app=app, package=package)}, (relative, module)
        assert reason.strip()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from yiwang.catalog.models import ServiceItem, Status",
            ["yiwang.catalog.models.ServiceItem", "yiwang.catalog.models.Status"],
        ),
        ("import yiwang.catalog.models", ["yiwang.catalog.models"]),
        ("from yiwang.catalog import models", ["yiwang.catalog.models"]),
        ("from yiwang.licenses.api import router", ["yiwang.licenses.api.router"]),
        ("def f():\n    from yiwang.messaging.models import Message\n", ["yiwang.messaging.models.Message"]),
        ("from ..catalog.models import ServiceItem", ["yiwang.catalog.models.ServiceItem"]),
        ("from yiwang import catalog", ["yiwang.catalog"]),
        ("from yiwang.catalog import selectors as catalog_selectors", []),
        ("from yiwang.catalog.selectors import HandlingForm, Status", []),
        ("from yiwang.licenses import services, selectors", []),
        ("from yiwang.identity.models import User", []),  # base app
        ("from yiwang.core.errors import NotFound", []),
        ("from yiwang.cases.models import Case", []),  # its own models
        ("from .models import Case", []),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from yiwang.catalog.models import ServiceItem\n",
            [],
        ),
    ],
)
def test_the_check_tells_a_reach_into_a_neighbour_from_a_public_import(source, expected):
    assert [module for _, module in violations(source, app="cases", package="yiwang.cases")] == expected


# --- the registries are read through the exchange only (issue 10) ---------------------------------

RAW_READS = frozenset({"record_read", "record_read_many"})
READ_THROUGH_EXCHANGE_ONLY = frozenset({"exchange", "registries"})


def registry_reach(source: str, *, app: str, package: str) -> list[tuple[int, str]]:
    """(line, what) of the ways ``source`` (a module of ``app``) reaches the registries other than
    through the exchange: importing ``registries.models``, or the raw ``record_read*`` of
    ``registries.selectors`` (imported by name, or called as an attribute of the module)."""
    if app in READ_THROUGH_EXCHANGE_ONLY:
        return []
    tree = ast.parse(source)
    found = []
    selectors_imported = False
    for line, module in _imported_modules(tree, package):
        if (
            module == "yiwang.registries.models"
            or module.startswith("yiwang.registries.models.")
            or (module.startswith("yiwang.registries.selectors.") and module.rsplit(".", 1)[1] in RAW_READS)
        ):
            found.append((line, module))
        if module in ("yiwang.registries.selectors", "yiwang.registries"):
            selectors_imported = True
    if selectors_imported:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in RAW_READS:
                found.append((node.lineno, f"registries.selectors.{node.attr}"))
    return found


def test_only_the_exchange_reads_registries_raw_and_nothing_imports_their_models():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if len(relative.parts) < 2 or relative.parts[1] in ("tests", "migrations"):
            continue
        package = ".".join(["yiwang", *relative.parent.parts])
        for line, what in registry_reach(path.read_text(encoding="utf-8"), app=relative.parts[0], package=package):
            found.append(f"{relative}:{line} reaches {what}")
    assert not found, "read registries through exchange.services.registry_read (logged, with a grant):\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from yiwang.registries.selectors import record_read", True),
        ("from yiwang.registries.selectors import record_read_many as many", True),
        ("from yiwang.registries import selectors\nselectors.record_read(registry='x', key='k', fields=[])", True),
        ("from yiwang.registries.models import Person", True),
        ("from yiwang.registries import models", True),
        ("from yiwang.registries.selectors import registry_fields, REGISTRY_NAMES", False),
        ("from yiwang.exchange.services import registry_read", False),
    ],
)
def test_the_registry_check_tells_a_raw_read_from_a_public_one(source, bad):
    assert bool(registry_reach(source, app="cases", package="yiwang.cases")) is bad
    assert registry_reach(source, app="exchange", package="yiwang.exchange") == []


# Schemas named alike in two apps: OpenAPI keeps one per name, so the second app's responses are
# checked (by clients and by the API fuzzer) against the first's shape. Those below were alike
# before the rule; give a new schema a name no other app uses.
KNOWN_SCHEMA_NAME_CLASHES: frozenset[str] = frozenset()


def test_api_schema_names_are_unique_across_apps():
    seen: dict[str, list[str]] = {}
    for path in sorted(SRC.glob("*/*api.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.bases:
                seen.setdefault(node.name, []).append(path.relative_to(SRC).as_posix())
    clashes = {name: files for name, files in seen.items() if len(files) > 1 and name not in KNOWN_SCHEMA_NAME_CLASHES}
    assert not clashes, f"schema classes with the same name in several API modules: {clashes}"


def test_every_data_migration_is_put_back_after_a_flush_or_only_converts_rows():
    """A transactional test flushes the database, the rows of data migrations with it; the root
    conftest puts back ``tests.databases.PLATFORM_ROWS`` before each one. A new data migration
    that seeds rows and is missing there fails only in whatever test happens to run after a
    flush (the 一数一源 rows did, in CI): name it in one of the two lists."""
    from tests import databases

    listed = {module for module, _ in databases.PLATFORM_ROWS} | set(databases.CONVERSIONS_ONLY)
    with_python = set()
    for path in sorted(SRC.glob("*/migrations/0*.py")):
        if "RunPython(" in path.read_text(encoding="utf-8"):
            with_python.add(f"yiwang.{path.parent.parent.name}.migrations.{path.stem}")
    assert with_python - listed == set(), "data migrations in neither list"
    assert listed - with_python == set(), "listed, but no such data migration"
