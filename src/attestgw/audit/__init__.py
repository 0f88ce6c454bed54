"""Offline audit of the evidence log (above :mod:`attestgw.attestation` in the layers).

:func:`audit_log` recomputes the tree, verifies every checkpoint and consistency between them,
re-verifies every stored attestation at its recorded time with its stored bytes, and checks what
relayed requests relied on; :func:`render_report` turns a log into a self-contained HTML page.
docs/evidence-log.md §4.
"""

from __future__ import annotations

from attestgw.audit.evidence import reverify_attestation
from attestgw.audit.findings import AuditReport, Finding
from attestgw.audit.verify import audit_log

__all__ = ["AuditReport", "Finding", "audit_log", "reverify_attestation"]
