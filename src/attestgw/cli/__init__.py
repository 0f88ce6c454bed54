"""The attestgw command line (edge layer)."""

from __future__ import annotations

import click

__all__ = ["main"]


@click.group()
def main() -> None:
    """attestgw: verify TEE attestation evidence locally, offline and strictly."""
