"""The demo catalog of 示范市: real-world service items and life-event bundles, as YAML files
in the catalog import format (``docs/catalog-import.schema.json``).

``load(actor)`` imports them through the catalog importer (all-or-nothing, published,
idempotent: a second run changes nothing), seeds the default search synonyms and builds the
search index at once, so the catalog is searchable even before a worker runs. It needs the
demo city's departments (``yiwang.demo``), whose codes the files name.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent
LIFE_EVENTS_FILE = "life_events.yaml"


def files() -> list[Path]:
    """The data files, items first and the bundles (which refer to them) last."""
    paths = sorted(p for p in DATA_DIR.glob("*.yaml") if p.name != LIFE_EVENTS_FILE)
    return [*paths, DATA_DIR / LIFE_EVENTS_FILE]


def document() -> dict:
    """All files merged into one import document."""
    items: list[dict] = []
    life_events: list[dict] = []
    for path in files():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items.extend(data.get("items", []))
        life_events.extend(data.get("life_events", []))
    return {"format_version": 1, "items": items, "life_events": life_events}


def load(actor=None):
    """Import and publish the demo catalog; returns the importer's ``ImportReport``.

    ``actor=None`` is the platform itself (as for ``yiwang catalog import``). Raises the
    importer's ``CatalogImportFailed`` (nothing written) if a department is missing.
    """
    from django.db import transaction

    from yiwang.catalog import search
    from yiwang.catalog.importer import catalog_import

    content = json.dumps(document(), ensure_ascii=False).encode("utf-8")
    with transaction.atomic():
        report = catalog_import(actor=actor, content=content, filename="demo_catalog.json", publish=True)
        search.synonyms_seed()
        search.reindex_all()
    return report
