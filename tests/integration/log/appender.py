"""A gateway stand-in for the crash and multi-writer tests: appends records from several threads.

``python -m tests.integration.log.appender LOG`` (LOG: a SQLite path or a ``postgresql://`` URL)
appends until killed. With ``--count N --offset K`` it waits for a ``go`` line on stdin (so several
processes start appending at once), appends N records numbered from K, prints ``done`` and exits.
After each append returns (the entry is durable) it prints ``ack <index> <sha256 of the record bytes>
<base64 checkpoint note>`` and flushes, so every line the parent reads is a promise the log must keep.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from attestgw.log import BatchSettings, build_record
from tests.unit.log.logdata import denial, open_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log")
    parser.add_argument("--count", type=int)
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    location: str | Path = args.log if args.log.startswith("postgresql://") else Path(args.log)
    store = open_store(location, batch=BatchSettings(max_entries=64, max_delay=0.003))
    lock = threading.Lock()
    stop = None if args.count is None else args.offset + args.count
    numbers = itertools.count(args.offset) if stop is None else iter(range(args.offset, stop))

    def run() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            record = build_record("authorization.denied", denial(n), at=datetime.now(UTC))
            index = store.append(record)
            note = store.wait_for_checkpoint(index)
            line = (
                f"ack {index} {hashlib.sha256(record.data).hexdigest()} {base64.b64encode(note).decode()}\n"
            )
            with lock:
                sys.stdout.write(line)
                sys.stdout.flush()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(8)]
    print("ready", flush=True)
    if args.count is not None and sys.stdin.readline().strip() != "go":
        return
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
