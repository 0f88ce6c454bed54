"""A self-contained HTML report of an evidence log, for auditors who would rather look than read.

One page, no scripts, no external assets: inline CSS and inline SVG bar charts. Sections: entries
over time (by record type), workers and their measurements, refusals by code (attestations refused,
authorization denials, evictions, denied key releases), key events, and the latest checkpoint.
Every value from the log is HTML-escaped. It reads the log only; it verifies nothing — run
``audit verify`` for that (the page says so).
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from attestgw.errors import AttestgwError
from attestgw.log.backend import Backend
from attestgw.log.records import Record, parse_record

__all__ = ["render_report"]

_SVG = "http://www.w3.org/2000/svg"
_COLOURS = ("#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00")
_CSS = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.5em}h2{margin-top:2em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    "code{font-size:12px}.note{color:#666}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bars(counts: dict[str, int], *, width: int = 640) -> str:
    """A horizontal bar chart (inline SVG) of label → count."""
    if not counts:
        return '<p class="note">none</p>'
    top = max(counts.values()) or 1
    row = 22
    parts = [f'<svg xmlns="{_SVG}" width="{width}" height="{row * len(counts) + 4}" role="img">']
    for i, (label, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        bar = int((width - 320) * count / top)
        y = i * row + 2
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{_e(label)}</text>')
        parts.append(
            f'<rect x="260" y="{y}" width="{max(bar, 1)}" height="{row - 6}" fill="{_COLOURS[i % 8]}"/>'
        )
        parts.append(f'<text x="{266 + bar}" y="{y + 14}" font-size="12">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _timeline(
    buckets: dict[str, Counter[str]], types: list[str], *, width: int = 720, height: int = 220
) -> str:
    """Stacked columns: entries per time bucket, one colour per record type, with a legend."""
    if not buckets:
        return '<p class="note">no entries</p>'
    keys = sorted(buckets)
    top = max(sum(c.values()) for c in buckets.values()) or 1
    col = max(2, (width - 60) // len(keys))
    parts = [f'<svg xmlns="{_SVG}" width="{width}" height="{height + 20 * len(types) + 40}" role="img">']
    for i, key in enumerate(keys):
        x, base = 50 + i * col, height
        for t_index, record_type in enumerate(types):
            count = buckets[key].get(record_type, 0)
            if count:
                h = max(1, int((height - 10) * count / top))
                base -= h
                parts.append(
                    f'<rect x="{x}" y="{base}" width="{max(1, col - 2)}" height="{h}" '
                    f'fill="{_COLOURS[t_index % 8]}">'
                    f"<title>{_e(key)} {_e(record_type)}: {count}</title></rect>"
                )
    parts.append(
        f'<text x="0" y="12" font-size="11">{top}</text><text x="0" y="{height}" font-size="11">0</text>'
    )
    parts.append(f'<text x="50" y="{height + 16}" font-size="11">{_e(keys[0])}</text>')
    parts.append(f'<text x="{width - 160}" y="{height + 16}" font-size="11">{_e(keys[-1])}</text>')
    for t_index, record_type in enumerate(types):
        y = height + 36 + 20 * t_index
        parts.append(f'<rect x="50" y="{y - 10}" width="12" height="12" fill="{_COLOURS[t_index % 8]}"/>')
        parts.append(f'<text x="68" y="{y}" font-size="12">{_e(record_type)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bucket(times: list[datetime]) -> str:
    span = (max(times) - min(times)).total_seconds() if times else 0
    return "%Y-%m-%d" if span > 14 * 86400 else "%Y-%m-%d %H:00" if span > 6 * 3600 else "%Y-%m-%d %H:%M"


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(backend: Backend) -> tuple[str, dict[str, Any]]:
    """The HTML page and a small JSON summary (entries, types, unreadable entries)."""
    records: list[tuple[int, Record]] = []
    unreadable = 0
    for row in backend.rows(0):
        try:
            records.append((row.index, parse_record(row.data)))
        except AttestgwError:
            unreadable += 1
    fmt = _bucket([r.time for _, r in records])
    types = sorted({r.type for _, r in records})
    buckets: dict[str, Counter[str]] = defaultdict(Counter)
    refusals: Counter[str] = Counter()
    workers: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    last_seen: dict[tuple[str, str], str] = {}
    key_events: list[tuple[object, ...]] = []
    for index, record in records:
        buckets[record.time.strftime(fmt)][record.type] += 1
        f = record.fields
        if record.type == "attestation.appraised":
            key = (f["worker"], f.get("measurement") or "(not verified)")
            workers[key][f["status"]] += 1
            last_seen[key] = f["verified_at"]
            if f["status"] != "affirming":
                refusals.update(f["codes"] or ["attestation.refused"])
        elif record.type == "authorization.denied":
            refusals[f["code"]] += 1
        elif record.type == "worker.evicted":
            refusals[f["reason"]] += 1
        elif record.type.startswith("key."):
            if record.type == "key.release_denied":
                refusals.update(f.get("codes") or ["key.release_denied"])
            key_events.append(
                (
                    index,
                    record.time.isoformat(),
                    record.type,
                    f["key_id"],
                    f.get("worker", ""),
                    ", ".join(f.get("codes") or ()),
                )
            )
    latest = backend.latest_checkpoint()
    worker_rows = [
        (w, m, ", ".join(f"{s}: {n}" for s, n in sorted(c.items())), last_seen[(w, m)])
        for (w, m), c in sorted(workers.items())
    ]
    sections = [
        f"<h1>Evidence log report — {_e(backend.origin)}</h1>",
        f"<p>{len(records)} readable entries, {unreadable} unreadable; latest checkpoint: "
        f"{latest[0] if latest else 'none'}.</p>",
        '<p class="note">This page summarizes what the log says; it verifies nothing. '
        "Run <code>attestgw audit verify</code> to check signatures, the tree and the stored evidence.</p>",
        "<h2>Entries over time</h2>" + _timeline(buckets, types),
        "<h2>Entries by type</h2>" + _bars({t: sum(c[t] for c in buckets.values()) for t in types}),
        "<h2>Workers and their measurements</h2>"
        + _table(("worker", "measurement", "attestations", "last verified"), worker_rows),  # type: ignore[arg-type]
        "<h2>Refusals by code</h2>" + _bars(dict(refusals)),
        "<h2>Key events</h2>" + _table(("index", "time", "event", "key id", "worker", "codes"), key_events),
    ]
    if latest is not None:
        sections.append(f"<h2>Latest checkpoint</h2><pre>{_e(latest[1].decode('utf-8', 'replace'))}</pre>")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>attestgw evidence log — {_e(backend.origin)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
    summary = {
        "entries": len(records),
        "unreadable": unreadable,
        "types": dict(Counter(record.type for _, record in records)),
        "refusals": dict(refusals),
    }
    return page, summary
