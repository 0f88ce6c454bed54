"""What access control reads from an authenticated caller.

:class:`attestgw.identity.Principal` satisfies :class:`Caller` structurally. The protocol exists because
``access`` and ``identity`` are sibling packages of the service layer and must not import each other
(import-linter's layer contract); the gateway passes its principals straight through.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Caller"]


class Caller(Protocol):
    """An authenticated caller: read-only identity attributes, already verified by ``identity``.

    Nothing here is re-checked: access control trusts that these values came from a verified token.
    """

    @property
    def issuer(self) -> str: ...

    @property
    def tenant(self) -> str | None: ...

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def roles(self) -> tuple[str, ...]: ...

    @property
    def scopes(self) -> frozenset[str]: ...

    @property
    def digest(self) -> str: ...

    @property
    def tenant_key(self) -> str: ...
