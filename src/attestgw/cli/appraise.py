"""Appraisal and EAR output shared by every TEE's verify command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from attestgw.appraisal import AppraisalResult, build_ear, sign_ear
from attestgw.cli.options import read_input
from attestgw.cli.output import emit
from attestgw.crypto.keys import load_ec_private_key_pem
from attestgw.errors import AttestgwError, UsageError

__all__ = ["appraise_and_emit"]


def appraise_and_emit(
    out: dict[str, Any],
    appraise: Callable[[], AppraisalResult],
    *,
    as_json: bool,
    ear_out: Path | None,
    ear_key: Path | None,
    at: datetime,
) -> NoReturn:
    """Run ``appraise``, optionally write a signed EAR, print, and exit 0 only when affirming."""
    try:
        result = appraise()
        out["status"] = result.status.value
        out["appraisal"] = result.policy_ref
        out["failures"] = [f.as_dict() for f in (*result.failures, *result.warnings)]
        out["opt_ins"] = list(result.opt_ins)
        out["not_evaluated"] = list(result.not_evaluated)
        out["trustworthiness_vector"] = result.vector.as_ear()
        if ear_out is not None and ear_key is not None:
            key = load_ec_private_key_pem(read_input(ear_key, "EAR key"))
            token = sign_ear(build_ear(result, issued_at=at), key)
            try:
                ear_out.write_text(token + "\n", encoding="ascii")
            except OSError as exc:
                raise UsageError("usage.invalid", f"cannot write {ear_out}: {exc.strerror}") from None
            out["ear"] = str(ear_out)
    except AttestgwError as err:
        out["status"] = "none"
        out["error"] = {"code": err.code, "message": err.message}
        out["failures"] = [{"rule": "appraise", "code": err.code, "got": err.message, "want": ""}]
        emit(out, as_json, exit_code=err.exit_code)
    emit(out, as_json, exit_code=0 if result.affirming else 1)
