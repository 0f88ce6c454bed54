"""Real NVIDIA evidence and RIMs from the shared corpus (MANIFEST.md "NVIDIA: SPDM evidence + device chain").

- Every report MANIFEST marks PASS verifies (chain to the pinned NVIDIA Device Identity CA, SPDM
  signature, FWID) at 2025-01-15, inside every certificate's validity, with the nonce MANIFEST
  states; a wrong nonce is refused.
- The two reports MANIFEST marks "InvalidSignature" are refused with ``nvidia.signature_invalid``.
- Trustee's broken chains are refused with the chain codes.
- Bundled RIMs: where NVIDIA's sample RIMs do not match the sample report, the result names exactly
  the differing indices (regression values, recomputed from the files); NVIDIA's deliberately broken
  RIMs are refused with the XML-signature codes.

OCSP: the corpus holds no OCSP responses (MANIFEST), so these tests opt out explicitly
(``OcspSettings(required=False)``) and assert the claims say nothing was checked.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.errors import AttestgwError
from attestgw.evidence.nvidia import parse_gpu_evidence
from attestgw.verify.nvidia import (
    GpuArch,
    GpuCollateral,
    GpuVerifyOptions,
    OcspSettings,
    RimRole,
    verify_gpus,
)
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

AT = datetime(2025, 1, 15, tzinfo=UTC)
NO_OCSP = OcspSettings(required=False)
N931 = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"

#: evidence, chain (None: in the envelope), nonce, devices, architecture — MANIFEST PASS rows.
VALID = [
    (
        "nvidia/nvtrust/hopperAttestationReport.hex",
        "nvidia/nvtrust/hopperCertChain.pem",
        N931,
        1,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/trustee/hopper_coco_report1.hex",
        "nvidia/trustee/hopper_coco_certs1.pem",
        "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec",
        1,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/nvattest/hopper_580.159.03/hopperAttestationReport.hex",
        "nvidia/nvattest/hopper_580.159.03/hopperCertChain.pem",
        "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca",
        1,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/nvattest/hopper_535.86.09/hopperAttestationReport.hex",
        "nvidia/nvattest/hopper_535.86.09/hopperCertChain.pem",
        "27a328247bf7935c993341cf587be6f05986ccce4fe7ba2c54100bd616a58f66",
        1,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/nvattest/hopper_570.124.03_expired_rim/hopperAttestationReportExpired.hex",
        "nvidia/nvattest/hopper_570.124.03_expired_rim/hopperCertChainExpired.pem",
        N931,
        1,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/nvattest/blackwell_575.32/blackwellAttestationReport.hex",
        "nvidia/nvattest/blackwell_575.32/blackwellCertChain.pem",
        N931,
        1,
        GpuArch.BLACKWELL,
    ),
    (
        "nvidia/nvattest/switch_ls10/switchAttestationReport.hex",
        "nvidia/nvattest/switch_ls10/switchCertChain.pem",
        N931,
        1,
        GpuArch.LS10,
    ),
    (
        "nvidia/nvtrust/ppcie_gpu_evidence.json",
        None,
        "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e",
        8,
        GpuArch.HOPPER,
    ),
    (
        "nvidia/nvtrust/ppcie_switch_evidence.json",
        None,
        "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e",
        4,
        GpuArch.LS10,
    ),
    (
        "nvidia/nvattest/serialized/multi_gpu_hopper.json",
        None,
        "e97b23a1718095a0e9e35edca810768c70a6a5a389b705e753b197912bc11576",
        4,
        GpuArch.HOPPER,
    ),
    ("nvidia/nvattest/serialized/multi_switch_ls10.json", None, N931, 4, GpuArch.LS10),
    ("nvidia/nvattest/serialized/hopper_evidence_cert_hold.json", None, N931, 1, GpuArch.HOPPER),
]


def _read(relative: str) -> bytes:
    return corpus_file(relative).read_bytes()


def _verify(
    evidence: str, chain: str | None, nonce: str | None, rims: tuple[str, ...] = (), at: datetime = AT
):  # type: ignore[no-untyped-def]
    items = parse_gpu_evidence(_read(evidence))
    collateral = GpuCollateral(
        certificate_chain=_read(chain) if chain else None, rims=tuple(_read(r) for r in rims)
    )
    options = GpuVerifyOptions(at=at, expected_nonce=bytes.fromhex(nonce) if nonce else None, ocsp=NO_OCSP)
    return verify_gpus(items, collateral, options)


@pytest.mark.parametrize(
    ("evidence", "chain", "nonce", "count", "arch"), VALID, ids=[v[0].split("/")[-1] for v in VALID]
)
def test_valid_samples_verify(
    evidence: str, chain: str | None, nonce: str, count: int, arch: GpuArch
) -> None:
    claims = _verify(evidence, chain, nonce)
    assert len(claims) == count
    for c in claims:
        assert c.arch is arch
        assert c.nonce_checked
        assert c.nonce.hex() == nonce
        assert not c.simulated
        assert not c.ocsp_checked
        assert c.comparison is None
        assert "ocsp_not_required" in c.ocsp_opt_ins


@pytest.mark.parametrize(
    ("evidence", "chain", "nonce", "count", "arch"), VALID[:3], ids=["nvtrust", "coco", "580"]
)
def test_wrong_nonce_is_refused(evidence: str, chain: str, nonce: str, count: int, arch: GpuArch) -> None:
    with pytest.raises(AttestgwError) as err:
        _verify(evidence, chain, "00" * 32)
    assert err.value.code == "nvidia.nonce_mismatch"


@pytest.mark.parametrize(
    ("evidence", "chain"),
    [
        (
            "nvidia/nvattest/hopper_invalid_signature/hopperAttestationReportInvalidSignature.hex",
            "nvidia/nvattest/hopper_570.124.03_expired_rim/hopperCertChainExpired.pem",
        ),
        (
            "nvidia/nvattest/switch_ls10/switchAttestationReportInvalidSignature.hex",
            "nvidia/nvattest/switch_ls10/switchCertChain.pem",
        ),
    ],
)
def test_invalid_signature_samples_are_refused(evidence: str, chain: str) -> None:
    with pytest.raises(AttestgwError) as err:
        _verify(evidence, chain, None)
    assert err.value.code == "nvidia.signature_invalid"


@pytest.mark.parametrize(
    ("chain", "code"),
    [
        ("nvidia/trustee/hopper_cert_chain_case2_root_only.pem", "nvidia.chain_invalid"),
        ("nvidia/trustee/hopper_cert_chain_case3_missing_intermediate.pem", "nvidia.chain_invalid"),
        ("nvidia/trustee/hopper_cert_chain_case4_missing_leaf.pem", "nvidia.chain_invalid"),
        ("nvidia/nvattest/switch_ls10/switchCertChain.pem", "nvidia.signature_invalid"),
    ],
)
def test_broken_or_foreign_chains_are_refused(chain: str, code: str) -> None:
    with pytest.raises(AttestgwError) as err:
        _verify("nvidia/trustee/hopperAttestationReport.hex", chain, N931)
    assert err.value.code == code


#: report + bundled RIMs → (RIM roles compared, RIM versions match, differing RIM indices).
RIM_CASES = [
    # NVIDIA's --test_no_gpu RIMs are for driver 545.00 / VBIOS 96.00.5E.00.01, the report is
    # 550.90.07 / 96.00.9F.00.01: the versions and these indices differ.
    (
        "nvidia/nvtrust/hopperAttestationReport.hex",
        "nvidia/nvtrust/hopperCertChain.pem",
        (
            "nvidia/rims/Driver_RIM_test_no_gpu.swidtag",
            "nvidia/rims/1010_0200_882_96005E0001_test_no_gpu.swidtag",
        ),
        AT,
        False,
        (1, 2, 3, 7, 9, 11, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40),
    ),
    # Same VBIOS version, NVIDIA's "measurement_mismatch" RIM: index 9 differs.
    (
        "nvidia/nvattest/hopper_535.86.09/hopperAttestationReport.hex",
        "nvidia/nvattest/hopper_535.86.09/hopperCertChain.pem",
        ("nvidia/nvattest/rims/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml",),
        AT,
        True,
        (9,),
    ),
    # Production VBIOS RIM (nvtrust sample) for the report's exact VBIOS: index 9 differs.
    (
        "nvidia/nvattest/hopper_580.159.03/hopperAttestationReport.hex",
        "nvidia/nvattest/hopper_580.159.03/hopperCertChain.pem",
        ("nvidia/rims/1010_0205_862_9600740020_PROD.swidtag",),
        AT,
        True,
        (9,),
    ),
    # NVSwitch BIOS RIM (valid 2026-05-20 .. 2028-05-19) for the report's BIOS: everything matches.
    (
        "nvidia/nvattest/switch_ls10/switchAttestationReport.hex",
        "nvidia/nvattest/switch_ls10/switchCertChain.pem",
        ("nvidia/nvattest/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001.xml",),
        datetime(2027, 1, 1, tzinfo=UTC),
        True,
        (),
    ),
]


@pytest.mark.parametrize(
    ("evidence", "chain", "rims", "at", "versions_match", "indices"),
    RIM_CASES,
    ids=["test_no_gpu", "535_mismatch", "580_prod", "switch"],
)
def test_bundled_rims_report_exact_differing_indices(
    evidence: str,
    chain: str,
    rims: tuple[str, ...],
    at: datetime,
    versions_match: bool,
    indices: tuple[int, ...],
) -> None:
    (claims,) = _verify(evidence, chain, None, rims, at)
    assert claims.comparison is not None
    assert claims.comparison.mismatched_indices == indices
    assert all(r.version_matches is versions_match for r in claims.rims)
    for m in claims.comparison.mismatches:
        block = claims.report.response.block(m.index + 1)
        assert block is None or block.value not in m.golden


@pytest.mark.parametrize(
    ("rim", "at", "code"),
    [
        ("nvidia/nvattest/rims/incorrect_signature_driver_rim.xml", AT, "nvidia.rim_signature_invalid"),
        (
            "nvidia/nvattest/rims/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml",
            AT,
            "nvidia.rim_digest_mismatch",
        ),
        ("nvidia/nvattest/rims/incorrect_cert_chain_driver_rim.xml", AT, "nvidia.rim_chain_invalid"),
        ("nvidia/nvattest/rims/NV_GPU_DRIVER_GH100_570.124.03_expired.xml", AT, "nvidia.rim_digest_mismatch"),
        (
            "nvidia/rims/1010_0200_882_96005E0001_PROD.swidtag",
            datetime(2026, 1, 1, tzinfo=UTC),
            "nvidia.rim_expired",
        ),
    ],
)
def test_nvidia_broken_rims_are_refused(rim: str, at: datetime, code: str) -> None:
    with pytest.raises(AttestgwError) as err:
        _verify(
            "nvidia/nvtrust/hopperAttestationReport.hex",
            "nvidia/nvtrust/hopperCertChain.pem",
            None,
            (rim,),
            at,
        )
    assert err.value.code == code


def test_good_driver_rim_verifies_and_its_content_is_signed() -> None:
    # 550.144.03 (valid 2024-12-30 .. 2026-12-30) verifies; the report is 550.90.07, so the version differs.
    (claims,) = _verify(
        "nvidia/nvtrust/hopperAttestationReport.hex",
        "nvidia/nvtrust/hopperCertChain.pem",
        None,
        ("nvidia/nvattest/rims/NV_GPU_DRIVER_GH100_550.144.03.xml",),
        datetime(2025, 6, 1, tzinfo=UTC),
    )
    rim = claims.rim(RimRole.DRIVER)
    assert rim is not None
    assert rim.version == "550.144.03"
    assert not rim.version_matches
