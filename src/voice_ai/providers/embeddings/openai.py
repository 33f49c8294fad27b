"""OpenAI and Azure OpenAI embeddings through the official ``openai`` SDK (the ``openai`` extra)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, SecretStr

from voice_ai.providers.base import EmbeddingsProvider, ProviderSettings, timeout_field
from voice_ai.providers.llm.openai_chat import map_openai_error
from voice_ai.providers.openai_client import AzureClientMixin, OpenAIClientMixin
from voice_ai.providers.types import Capabilities, EmbeddingKind, Embeddings


class OpenAIEmbeddingsSettings(ProviderSettings):
    api_key: SecretStr
    model: str = "text-embedding-3-small"
    base_url: str = "https://api.openai.com/v1"
    dimensions: int | None = Field(default=None, ge=1, le=3072, description="Shorter vectors (text-embedding-3)")
    timeout_s: float = timeout_field(20.0)


class AzureOpenAIEmbeddingsSettings(ProviderSettings):
    api_key: SecretStr
    endpoint: str = Field(description="https://<resource>.openai.azure.com")
    deployment: str
    api_version: str = "2024-10-21"
    dimensions: int | None = Field(default=None, ge=1, le=3072)
    timeout_s: float = timeout_field(20.0)


class OpenAIEmbeddings(OpenAIClientMixin, EmbeddingsProvider):
    name = "openai"
    display_name = "OpenAI embeddings"
    description = "text-embedding-3-small (1536 dimensions) or any OpenAI embedding model."
    Settings: ClassVar[type[ProviderSettings]] = OpenAIEmbeddingsSettings
    capabilities = Capabilities(dimensions=1536)
    extra = "openai"
    batch_size = 256

    @property
    def model_name(self) -> str:
        return str(getattr(self.settings, "model", ""))

    async def _embed_impl(self, texts: list[str], kind: EmbeddingKind) -> Embeddings:
        request: dict[str, Any] = {"model": self.model_name, "input": texts}
        dimensions = getattr(self.settings, "dimensions", None)
        if dimensions:
            request["dimensions"] = dimensions
        try:
            response = await self.client().embeddings.create(**request)
        except Exception as exc:
            raise map_openai_error(exc, self.label) from None
        vectors = [list(item.embedding) for item in sorted(response.data, key=lambda d: d.index)]
        return Embeddings(vectors, response.model or self.model_name, len(vectors[0]) if vectors else 0)


class AzureOpenAIEmbeddings(AzureClientMixin, OpenAIEmbeddings):
    name = "azure_openai"
    display_name = "Azure OpenAI embeddings"
    description = "An embedding model deployed in an Azure OpenAI resource."
    Settings = AzureOpenAIEmbeddingsSettings

    @property
    def model_name(self) -> str:
        return str(getattr(self.settings, "deployment", ""))
