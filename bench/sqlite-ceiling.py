#!/usr/bin/env python3
"""What SQLite alone can do on this machine: durable inserts of distinct 1 KiB
messages, in transactions of GROUP rows.

The ceiling for `messages-post-1k` on SQLite: no HTTP, no Rust, WAL,
synchronous=FULL and the server's wal_autocheckpoint. Each size runs the
server's layout (migration 0007: `messages` metadata and `message_contents`
appended in id order, no index on the digest, which the server keeps in
memory) and the layout before it (one table with a unique digest index), to
show what the index's random page writes cost.

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
        if unique:
            db.execute(
                "CREATE TABLE messages (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE,"
                " content BLOB NOT NULL, content_type TEXT NOT NULL, created_at_ms INTEGER NOT NULL)"
            )
        else:
            db.execute(
                "CREATE TABLE messages (id INTEGER PRIMARY KEY, digest BLOB NOT NULL,"
                " size INTEGER NOT NULL, content_type TEXT NOT NULL, created_at_ms INTEGER NOT NULL)"
            )
            db.execute("CREATE TABLE message_contents (id INTEGER PRIMARY KEY, content BLOB NOT NULL)")
        padding = os.urandom(1000)
        written, started = 0, time.monotonic()
        while written < ROWS:
            rows = []
            for _ in range(group):
                content = padding + str(written).encode()
                written += 1
                rows.append((written, hashlib.sha256(content).digest(), content))
            db.execute("BEGIN IMMEDIATE")
            if unique:
                db.executemany(
                    "INSERT INTO messages (digest, content, content_type, created_at_ms)"
                    " VALUES (?, ?, 'application/octet-stream', 0) ON CONFLICT (digest) DO NOTHING",
                    [(digest, content) for _, digest, content in rows],
                )
            else:
                db.executemany(
                    "INSERT INTO messages (id, digest, size, content_type, created_at_ms)"
                    " VALUES (?, ?, ?, 'application/octet-stream', 0)",
                    [(i, digest, len(content)) for i, digest, content in rows],
                )
                db.executemany(
                    "INSERT INTO message_contents (id, content) VALUES (?, ?)",
                    [(i, content) for i, _, content in rows],
                )
            db.execute("COMMIT")
        db.close()
        return written / (time.monotonic() - started)


if __name__ == "__main__":
    for group in [int(g) for g in sys.argv[1:]] or [32, 64]:
        for unique in (True, False):
            index = "before 0007: unique digest index" if unique else "server's layout: no digest index"
            print(f"{group:>4} rows per transaction, {index}: {run(group, unique):,.0f} durable rows/s")
