"""One way to build (and close) an OpenAI SDK client for every OpenAI-protocol provider: chat, speech,
transcription, embeddings; plain OpenAI-compatible servers and Azure deployments alike."""

from __future__ import annotations

from typing import Any

from voice_ai.providers.errors import ProviderNotInstalledError
from voice_ai.providers.sdk import build_client


def openai_sdk() -> Any:
    try:
        import openai
    except ImportError:
        raise ProviderNotInstalledError(
            "the openai SDK is not installed: pip install 'voice-ai-ivr[openai]'", provider="openai"
        ) from None
    return openai


class OpenAIClientMixin:
    """Lazily builds ``self._client`` from ``self.settings``; SDK retries off (the base class retries)."""

    settings: Any
    _client: Any = None

    def client_options(self) -> dict[str, Any]:
        s = self.settings
        api_key = s.api_key.get_secret_value() if getattr(s, "api_key", None) is not None else "not-needed"
        options = {"base_url": s.base_url, "api_key": api_key}
        if getattr(s, "organization", None):
            options["organization"] = s.organization
        return options

    def client_factory(self) -> Any:
        return openai_sdk().AsyncOpenAI

    def client(self) -> Any:
        if self._client is None:
            self._client = build_client(
                self.client_factory(), timeout=self.settings.timeout_s, max_retries=0, **self.client_options()
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class AzureClientMixin(OpenAIClientMixin):
    def client_factory(self) -> Any:
        return openai_sdk().AsyncAzureOpenAI

    def client_options(self) -> dict[str, Any]:
        s = self.settings
        return {"azure_endpoint": s.endpoint, "api_key": s.api_key.get_secret_value(), "api_version": s.api_version}
