"""The attestgw command line (edge layer): thin commands over the library, one module per noun."""

from __future__ import annotations

import click

from attestgw import __version__
from attestgw.cli.attest import attest_command
from attestgw.cli.audit import audit
from attestgw.cli.chat import chat_command
from attestgw.cli.demo import demo
from attestgw.cli.gateway import gateway
from attestgw.cli.log import log
from attestgw.cli.proxy import proxy_command
from attestgw.cli.trust import trust
from attestgw.cli.verify import verify
from attestgw.cli.worker import worker

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="attestgw")
def main() -> None:
    """attestgw: verify TEE attestation evidence locally, offline and strictly.

    \b
    Exit codes: 0 ok; 1 verification or appraisal failed; 2 usage error or unreadable input;
    3 collateral or network unavailable.
    """


main.add_command(verify)
main.add_command(demo)
main.add_command(worker)
main.add_command(gateway)
main.add_command(attest_command)
main.add_command(chat_command)
main.add_command(proxy_command)
main.add_command(trust)
main.add_command(log)
main.add_command(audit)
