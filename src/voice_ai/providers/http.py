"""The HTTP client shared by vendors without an SDK here: typed errors for transport failures and
statuses, one pooled ``httpx.AsyncClient`` per provider instance, no retries (the base class retries)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from voice_ai.providers.errors import ProviderError, ProviderTimeoutError, ProviderUnavailableError, from_http_status


class HttpVendor:
    """Mixin for providers that talk HTTP: ``await self.http_request(...)`` returns a 2xx response."""

    label: str
    _http: httpx.AsyncClient | None = None

    def http_client(self, timeout_s: float) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)))
        return self._http

    async def http_close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def aclose(self) -> None:
        """Provider.aclose for HTTP vendors (this mixin comes first in their bases)."""
        await self.http_close()

    async def http_request(self, method: str, url: str, *, timeout_s: float, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http_client(timeout_s).request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise ProviderTimeoutError("the vendor did not answer in time", provider=self.label) from None
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"cannot reach the vendor: {type(exc).__name__}", provider=self.label
            ) from None
        if response.status_code >= 400:
            retry_after = response.headers.get("retry-after", "")
            raise from_http_status(
                response.status_code,
                _detail(response),
                provider=self.label,
                retry_after=float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None,
            )
        return response

    @asynccontextmanager
    async def http_stream(
        self, method: str, url: str, *, timeout_s: float, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """A 2xx response whose body is read as it arrives (server-sent events), with the same typed errors as
        :meth:`http_request` (an error status's body is read whole to say why)."""
        try:
            async with self.http_client(timeout_s).stream(method, url, **kwargs) as response:
                if response.status_code >= 400:
                    await response.aread()
                    retry_after = response.headers.get("retry-after", "")
                    raise from_http_status(
                        response.status_code,
                        _detail(response),
                        provider=self.label,
                        retry_after=float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None,
                    )
                yield response
        except httpx.TimeoutException:
            raise ProviderTimeoutError("the vendor did not answer in time", provider=self.label) from None
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                f"cannot reach the vendor: {type(exc).__name__}", provider=self.label
            ) from None


def expect_audio(response: httpx.Response, provider: str) -> bytes:
    """The body of an audio answer; a text/JSON/HTML body (a proxy's error page) is an error, not sound."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind.startswith("text/") or kind.endswith("json"):
        raise ProviderError(
            f"unexpected response from the vendor ({kind}, not audio)", provider=provider, retryable=True
        )
    return response.content


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in ("error", "err_msg", "detail", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("status")
            if value:
                return str(value)
    return str(body)[:300]
