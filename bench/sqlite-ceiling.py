#!/usr/bin/env python3
"""What SQLite alone can do on this machine: durable inserts of distinct 1 KiB
messages into the messages table's shape, in transactions of GROUP rows.

The ceiling for `messages-post-1k` on SQLite: no HTTP, no Rust, just the same
table (rowid order, unique 32-byte digest), WAL, synchronous=FULL and the
server's wal_autocheckpoint. Each size is also run without the digest index,
to show what the index's random page writes cost.

Usage: bench/sqlite-ceiling.py [GROUP ...]   (default: 32 64)
"""
import hashlib
import os
import sqlite3
import sys
import tempfile
import time

ROWS = 192_000
# As in src/db/mod.rs (SQLITE_WAL_AUTOCHECKPOINT_PAGES).
WAL_AUTOCHECKPOINT = 16384


def run(group: int, unique: bool) -> float:
    with tempfile.TemporaryDirectory() as work:
        db = sqlite3.connect(os.path.join(work, "ceiling.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        db.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY,"
            f" digest BLOB NOT NULL {'UNIQUE' if unique else ''}, content BLOB NOT NULL,"
            " content_type TEXT NOT NULL, created_at_ms INTEGER NOT NULL)"
        )
        padding = os.urandom(1000)
        written, started = 0, time.monotonic()
        while written < ROWS:
            rows = []
            for _ in range(group):
                content = padding + str(written).encode()
                written += 1
                rows.append((hashlib.sha256(content).digest(), content, "application/octet-stream", 0))
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO messages (digest, content, content_type, created_at_ms)"
                " VALUES (?, ?, ?, ?)" + (" ON CONFLICT (digest) DO NOTHING" if unique else ""),
                rows,
            )
            db.execute("COMMIT")
        db.close()
        return written / (time.monotonic() - started)


if __name__ == "__main__":
    for group in [int(g) for g in sys.argv[1:]] or [32, 64]:
        for unique in (True, False):
            index = "unique digest index" if unique else "no index (not the real table)"
            print(f"{group:>4} rows per transaction, {index}: {run(group, unique):,.0f} durable rows/s")
