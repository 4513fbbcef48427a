"""Warehouse-level operations: initialise (migrate + load targets/)."""
from __future__ import annotations

from pathlib import Path

from pipelines import db
from pipelines.catalog.definitions import TARGETS_DIR, load_catalog, read_catalog


def init_warehouse(db_path, targets_dir=None) -> dict:
    """Create or migrate the warehouse and (re)load targets/. Idempotent.

    targets/ is validated completely before the warehouse is opened for writing. The figures
    table is rebuilt when the catalog changed, and brought up to date otherwise.
    """
    cat = read_catalog(Path(targets_dir) if targets_dir else TARGETS_DIR)
    con = db.connect(db_path)
    try:
        db.migrate(con)
        stats = load_catalog(con, cat)
        changed = stats["targets_new"] + stats["targets_changed"] + stats["targets_retired"]
        if changed:
            db.audit(con, "system", "targets.load", str(targets_dir or "targets/"), "ok", stats)
        from .metrics.figure_table import refresh
        stats["figures"] = refresh(con)          # only what is marked stale (all of it on a change)
        stats["schema_version"] = db.SCHEMA_VERSION
        return stats
    finally:
        con.close()
