"""The one SQLite store: tables, views, opening and migrations (see docs/schema.md)."""

from pcclip.store.engine import APPLICATION_ID, Store, open_store
from pcclip.store.migrations import SCHEMA_VERSION

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "Store", "open_store"]
