"""attestgw: a confidential inference gateway with local, offline, strict attestation verification."""

__all__ = ["__version__"]

__version__ = "0.1.0"
