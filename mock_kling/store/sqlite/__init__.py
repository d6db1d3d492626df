"""The SQLite store: one database file shared by threads and processes (WAL: readers never wait
for the writer; one short BEGIN IMMEDIATE write transaction per change). `store.py` keeps tasks,
accounts, rules, journals and the clock; `deliveries.py` the callback queue; `db.py` the
connections, transactions and schema."""

from mock_kling.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
