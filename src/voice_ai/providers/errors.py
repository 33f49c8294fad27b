"""Typed provider errors. ``retryable`` decides whether the same provider is tried again and whether a
fallback chain moves on; the message is what an admin sees: it is redacted when the error is made (every
secret this process knows, bearer tokens and key-like values), because vendors repeat keys in their errors."""

from __future__ import annotations

from voice_ai.core.logging import redact


class ProviderError(Exception):
    retryable = False
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        retryable: bool | None = None,
        status_code: int | None = None,
        field: str | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.field = field  # the request field at fault, when the caller's input is (e.g. "voice")
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        return f"{prefix}{self.message}"


class ProviderTimeoutError(ProviderError):
    retryable = True
    kind = "timeout"


class ProviderUnavailableError(ProviderError):
    """5xx answers, refused or reset connections: worth another try, or the next provider."""

    retryable = True
    kind = "unavailable"


class ProviderRateLimitedError(ProviderError):
    retryable = True
    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """Bad or missing credentials: retrying cannot help; an admin must fix the configuration."""

    kind = "auth"


class ProviderBadRequestError(ProviderError):
    kind = "bad_request"


class ProviderConfigError(ProviderError):
    """The stored configuration does not fit the provider's schema, or the provider is unknown."""

    kind = "config"


class ProviderNotInstalledError(ProviderError):
    """An optional dependency (an extra) is missing; the message names the extra to install."""

    kind = "not_installed"


def from_http_status(status: int, detail: str, *, provider: str, retry_after: float | None = None) -> ProviderError:
    """Map a vendor's HTTP status to the typed error (the same table for every HTTP vendor)."""
    detail = detail.strip()[:300] or f"HTTP {status}"
    if status in (401, 403):
        return ProviderAuthError(
            f"authentication failed (HTTP {status}): {detail}", provider=provider, status_code=status
        )
    if status == 429:
        return ProviderRateLimitedError(
            f"rate limited (HTTP 429): {detail}", provider=provider, status_code=status, retry_after=retry_after
        )
    if status == 404:
        return ProviderConfigError(
            f"not found (HTTP 404): check the configured model, deployment, voice or URL: {detail}",
            provider=provider,
            status_code=status,
        )
    if status == 408 or status >= 500:
        return ProviderUnavailableError(
            f"vendor error (HTTP {status}): {detail}", provider=provider, status_code=status
        )
    return ProviderBadRequestError(f"request refused (HTTP {status}): {detail}", provider=provider, status_code=status)
