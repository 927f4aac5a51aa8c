"""The SQLite store: sessions, runs, events and conversation messages."""

from once.store.store import RunRecord, Store, open_store

__all__ = ["RunRecord", "Store", "open_store"]
