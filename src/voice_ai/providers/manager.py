"""Per-tenant provider resolution, instance caching and fallback chains.

A call's provider for a kind is: the secretary's reference, else the tenant's default for that kind, else
the system default (offline). Behind a chosen provider come the tenant's other enabled providers of that
kind by priority, then the system default; when nothing is chosen the system default answers first and the
tenant's other enabled providers are only its fallbacks — a provider marked not default is never tried
before the built-in one. When one fails (timeout, 5xx, rate limit, bad key, missing SDK, a
request the vendor refused), the next answers and the result lists who failed before it — a caller is never
dropped because one vendor failed. Embeddings are the exception: vectors of another model would not match
the stored ones, so an embeddings chain is the chosen provider alone.

Instances are cached per tenant and provider row and rebuilt when the row's ``update_date`` changes, so a
change made through any service instance is picked up on the next call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voice_ai.core.crypto import SecretBox
from voice_ai.core.secret_fields import decrypt_config
from voice_ai.db.models import Provider as ProviderRow
from voice_ai.db.repositories.entities import ProviderRepository
from voice_ai.providers.base import EmbeddingsProvider, Provider
from voice_ai.providers.errors import ProviderAuthError, ProviderError, ProviderRateLimitedError
from voice_ai.providers.registry import SYSTEM_DEFAULTS, provider_class
from voice_ai.providers.types import KINDS, CallInfo, Kind

logger = logging.getLogger(__name__)
RETIRE_AFTER_S = 120.0
P = TypeVar("P", bound=Provider)
R = TypeVar("R")


class RateLimiter(Protocol):
    async def allow(self, domain_uuid: uuid.UUID, provider_uuid: uuid.UUID, limit_rpm: int) -> tuple[bool, float]:
        """(allowed, seconds until the window resets)"""
        ...


class AllProvidersFailedError(ProviderError):
    kind = "all_failed"

    def __init__(self, message: str, errors: list[ProviderError], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors  # each member's error, in chain order (rate-limited members have none)


@dataclass
class Member:
    provider: Provider
    provider_uuid: uuid.UUID | None  # None: the system default
    rate_limit_rpm: int | None = None

    @property
    def label(self) -> str:
        return self.provider.label


@dataclass
class FallbackChain(Generic[P]):
    kind: Kind
    domain_uuid: uuid.UUID
    members: list[Member]
    limiter: RateLimiter | None = None
    skipped: list[str] = field(default_factory=list)  # members that could not even be built
    strict: bool = False  # one chosen provider, no fallback (admin requests): over its limit is an error

    def only(self, provider_uuid: uuid.UUID) -> FallbackChain[P]:
        """Just one configured provider, e.g. when an admin asks for it by id."""
        chosen = [m for m in self.members if m.provider_uuid == provider_uuid]
        return FallbackChain(self.kind, self.domain_uuid, chosen, self.limiter, [], strict=True)

    @property
    def primary(self) -> P:
        provider: P = self.members[0].provider  # type: ignore[assignment]
        return provider

    async def _within_limit(self, member: Member) -> tuple[bool, float]:
        if not (member.rate_limit_rpm and member.provider_uuid and self.limiter is not None):
            return True, 0.0
        return await self.limiter.allow(self.domain_uuid, member.provider_uuid, member.rate_limit_rpm)

    async def run(self, call: Callable[[P], Awaitable[R]]) -> R:
        """``call`` on each member in turn until one answers; the answer's ``info.fallbacks`` names the
        members that failed (or were over their rate limit) before it."""
        failures = list(self.skipped)
        errors: list[ProviderError] = []
        for member in self.members:
            allowed, wait = await self._within_limit(member)
            if not allowed:
                if self.strict:
                    raise ProviderRateLimitedError(
                        f"over this tenant's limit of {member.rate_limit_rpm} requests per minute for this "
                        f"provider; try again in {wait:.0f} s",
                        provider=member.label,
                        retry_after=wait,
                    )
                failures.append(f"{member.label}: rate_limited (over {member.rate_limit_rpm}/min)")
                continue
            try:
                result = await call(member.provider)  # type: ignore[arg-type]
            except ProviderError as exc:
                if self.strict:
                    raise
                level = logging.ERROR if isinstance(exc, ProviderAuthError) else logging.WARNING
                logger.log(level, "%s provider %s failed, trying the next: %s", self.kind, member.label, exc)
                failures.append(f"{member.label}: {exc.kind}")
                errors.append(exc)
                continue
            info: CallInfo | None = getattr(result, "info", None)
            if info is not None:
                info.fallbacks = failures
            return result
        raise AllProvidersFailedError(
            f"every {self.kind} provider failed ({'; '.join(failures) or 'none configured'})"
            + (f"; first error: {errors[0].message}" if errors else ""),
            errors,
            provider=self.kind,
        )


class ProviderManager:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._box = box
        self.limiter = limiter
        self._instances: dict[tuple[uuid.UUID, uuid.UUID], tuple[datetime, Provider]] = {}
        self._system: dict[tuple[uuid.UUID, str], Provider] = {}
        self._retired: set[asyncio.Task[None]] = set()

    def build(self, row: ProviderRow) -> Provider:
        """A fresh instance from a stored row (plaintext config only in memory, never logged)."""
        cls = provider_class(row.provider_type, row.provider_name)
        config = decrypt_config(row.config or {}, self._box)
        label = f"{row.provider_name}#{str(row.voice_ai_provider_uuid)[:8]}"
        return cls.from_config(config, label=label)

    async def instance(self, row: ProviderRow) -> Provider:
        key = (row.domain_uuid, row.voice_ai_provider_uuid)
        cached = self._instances.get(key)
        if cached is not None and cached[0] >= row.update_date:
            return cached[1]  # a request that read the row before an edit keeps the newer instance
        provider = self.build(row)
        self._instances[key] = (row.update_date, provider)
        if cached is not None:
            self._retire(cached[1])
        return provider

    def _retire(self, provider: Provider) -> None:
        """Close a replaced instance once the requests still using it are done (a grace period)."""

        async def close_later() -> None:
            await asyncio.sleep(RETIRE_AFTER_S)
            await provider.aclose()

        task = asyncio.get_running_loop().create_task(close_later())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def system_default(self, kind: Kind, domain_uuid: uuid.UUID) -> Provider:
        """Per tenant (the dialog policy holds the tenant's embedder and vector cache); the heavy models
        behind the offline providers are loaded once per process regardless."""
        key = (domain_uuid, kind)
        if key not in self._system:
            self._system[key] = provider_class(kind, SYSTEM_DEFAULTS[kind]).from_config({})
        return self._system[key]

    async def chain(
        self,
        domain_uuid: uuid.UUID,
        kind: Kind,
        *,
        preferred: uuid.UUID | None = None,
        session: AsyncSession | None = None,
    ) -> FallbackChain[Any]:
        """The chain for a kind. Pass the request's ``session`` to read the rows on its connection: a request
        that held one connection while waiting for a second could exhaust the pool under load."""
        if session is not None:
            rows = await ProviderRepository(session).enabled_of_kind(domain_uuid, kind)
        else:
            async with self._sessionmaker() as own:
                rows = await ProviderRepository(own).enabled_of_kind(domain_uuid, kind)
        primary = next((r for r in rows if r.voice_ai_provider_uuid == preferred), None)
        primary = primary or next((r for r in rows if r.is_default), None)
        members: list[Member] = []
        skipped: list[str] = []
        if primary is None:  # nothing chosen: the built-in default answers first (see the module docstring)
            self._append_system_default(members, skipped, kind, domain_uuid)
        for row in ([primary] if primary else []) + [r for r in rows if r is not primary]:
            try:
                members.append(Member(await self.instance(row), row.voice_ai_provider_uuid, row.rate_limit_rpm))
            except ProviderError as exc:  # unknown name, invalid settings, missing extra: say so, go on
                logger.error("tenant %s: %s provider %s unusable: %s", domain_uuid, kind, row.provider_name, exc)
                skipped.append(f"{row.provider_name}: {exc.kind}")
        if kind == "embeddings" and members:
            members = members[:1]  # see the module docstring: no fallback across embedding models
        elif not any(m.provider_uuid is None for m in members):
            self._append_system_default(members, skipped, kind, domain_uuid)
        chain: FallbackChain[Any] = FallbackChain(kind, domain_uuid, members, self.limiter, skipped)
        if kind == "llm":
            await self._attach_embedder(domain_uuid, chain, session)
        return chain

    def _append_system_default(
        self, members: list[Member], skipped: list[str], kind: Kind, domain_uuid: uuid.UUID
    ) -> None:
        try:
            members.append(Member(self.system_default(kind, domain_uuid), None))
        except ProviderError as exc:
            skipped.append(f"{SYSTEM_DEFAULTS[kind]}: {exc.kind}")

    async def _attach_embedder(
        self, domain_uuid: uuid.UUID, chain: FallbackChain[Any], session: AsyncSession | None
    ) -> None:
        needs = [m.provider for m in chain.members if hasattr(m.provider, "attach_embedder")]
        if not needs:
            return
        embeddings = await self.chain(domain_uuid, "embeddings", session=session)
        embedder = embeddings.members[0].provider if embeddings.members else None
        for provider in needs:
            provider.attach_embedder(embedder if isinstance(embedder, EmbeddingsProvider) else None)

    async def for_secretary(
        self,
        domain_uuid: uuid.UUID,
        secretary: Any,
        session: AsyncSession | None = None,
        *,
        kinds: Sequence[Kind] = KINDS,
    ) -> dict[Kind, FallbackChain[Any]]:
        """The chains of a call to ``secretary`` (its provider references come first), for ``kinds``."""
        return {
            kind: await self.chain(
                domain_uuid, kind, preferred=getattr(secretary, f"{kind}_provider_uuid", None), session=session
            )
            for kind in kinds
        }

    async def aclose(self) -> None:
        for task in list(self._retired):
            task.cancel()
        for _, provider in self._instances.values():
            await provider.aclose()
        for provider in self._system.values():
            await provider.aclose()
        self._instances.clear()
        self._system.clear()
