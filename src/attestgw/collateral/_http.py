"""The HTTP side every collateral fetcher shares: one lazily made client, bounded downloads, one error.

:class:`HttpFetcher` is the base of the AMD KDS, Intel PCS and NVIDIA RIM/OCSP fetchers. It owns an
``httpx.Client`` made on first use (so an offline fetcher never opens one), closes it on
:meth:`close` or at the end of a ``with`` block, and :meth:`download` reads a response up to a size
cap. Every failure — a transport error, a non-200 status (429 with the service's ``Retry-After``), a
missing required header, an oversized body — is ``CollateralUnavailableError("collateral.fetch_failed")``
naming the method and URL, so the CLI exits 3. Not done here: caching and checking what came back.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from attestgw.errors import CollateralUnavailableError

__all__ = ["HttpFetcher"]

_FAILED = "collateral.fetch_failed"


class HttpFetcher:
    """Lazy client and bounded downloads for a collateral service (see the module docstring)."""

    #: the service's name in messages ("KDS", "Intel PCS", …)
    service = "the collateral service"

    def __init__(self, *, timeout: float, trust_env: bool, max_body: int) -> None:
        self.timeout = timeout
        self._trust_env = trust_env
        self._max_body = max_body
        self._client: httpx.Client | None = None

    def download(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        header: str | None = None,
    ) -> tuple[bytes, str | None]:
        """The body of ``method url`` (at most the size cap) and the value of response ``header``.

        ``header``, when given, must be present in the answer.
        """
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, trust_env=self._trust_env)
        where = f"{method} {url}"
        try:
            with self._client.stream(method, url, content=content, headers=headers or {}) as response:
                status = response.status_code
                if status != 200:
                    hint = f" (rate limited by {self.service}; retry later)" if status == 429 else ""
                    retry = response.headers.get("retry-after")
                    raise CollateralUnavailableError(
                        _FAILED,
                        f"{where}: HTTP {status}{hint}" + (f", Retry-After {retry[:32]}" if retry else ""),
                    )
                value = response.headers.get(header) if header is not None else None
                if header is not None and not value:
                    raise CollateralUnavailableError(_FAILED, f"{where}: no {header} header")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_body:
                        raise CollateralUnavailableError(
                            _FAILED, f"{where}: response larger than {self._max_body} bytes"
                        )
        except httpx.HTTPError as exc:
            raise CollateralUnavailableError(_FAILED, f"{where}: {type(exc).__name__}: {exc}") from None
        return bytes(body), value

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
