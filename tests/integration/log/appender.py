"""A gateway stand-in for the crash test: appends records from several threads until killed.

Run as ``python -m tests.integration.log.appender DB``. After each append returns (the entry is
durable) it prints ``ack <index> <sha256 of the record bytes> <base64 checkpoint note>`` and flushes,
so every line the parent reads is a promise the log must keep after a SIGKILL.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from attestgw.log import BatchSettings, build_record
from tests.unit.log.logdata import denial, open_store


def main() -> None:
    store = open_store(Path(sys.argv[1]), batch=BatchSettings(max_entries=64, max_delay=0.003))
    lock = threading.Lock()

    def run(worker: int) -> None:
        n = 0
        while True:
            record = build_record(
                "authorization.denied", denial(worker * 1_000_000 + n), at=datetime.now(UTC)
            )
            index = store.append(record)
            note = store.wait_for_checkpoint(index)
            line = (
                f"ack {index} {hashlib.sha256(record.data).hexdigest()} {base64.b64encode(note).decode()}\n"
            )
            with lock:
                sys.stdout.write(line)
                sys.stdout.flush()
            n += 1

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in range(8)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
