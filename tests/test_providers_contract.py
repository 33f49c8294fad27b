"""Every registered provider: it loads, declares its kind, capabilities and a settings schema with its
secrets flagged, and validates its settings with clear, value-free messages."""

from __future__ import annotations

import pytest

from voice_ai.providers.base import Provider
from voice_ai.providers.errors import ProviderConfigError
from voice_ai.providers.registry import REGISTRY, SYSTEM_DEFAULTS, describe, describe_all, provider_class

ALL = sorted(REGISTRY)


@pytest.mark.parametrize(("kind", "name"), ALL)
def test_registered_provider_describes_itself(kind: str, name: str) -> None:
    cls = provider_class(kind, name)
    assert issubclass(cls, Provider)
    assert cls.kind == kind and cls.name == name and cls.display_name
    info = describe(kind, name)  # type: ignore[arg-type]
    schema = info["settings_schema"]
    assert schema["type"] == "object" and "timeout_s" in schema["properties"]
    for field in info["secret_fields"]:
        assert schema["properties"][field]["x-secret"] is True
        assert schema["properties"][field].get("writeOnly") is True
    assert isinstance(info["capabilities"]["offline"], bool)


@pytest.mark.parametrize(("kind", "name"), ALL)
def test_invalid_settings_are_a_clear_config_error(kind: str, name: str) -> None:
    cls = provider_class(kind, name)
    with pytest.raises(ProviderConfigError) as info:
        cls.from_config({"timeout_s": -1, "not_a_setting": "sk-should-not-appear"})
    message = str(info.value)
    assert "timeout_s" in message and "not_a_setting" in message
    assert "sk-should-not-appear" not in message


def test_system_defaults_are_offline_and_need_no_settings() -> None:
    for kind, name in SYSTEM_DEFAULTS.items():
        cls = provider_class(kind, name)
        assert cls.capabilities.offline
        assert cls.from_config({}).kind == kind


def test_cloud_providers_require_their_key() -> None:
    secrets = {(d["provider_type"], d["provider_name"]): d["secret_fields"] for d in describe_all()}
    for key in [("llm", "openai"), ("llm", "anthropic"), ("llm", "groq"), ("embeddings", "openai")]:
        assert secrets[key] == ["api_key"]
        with pytest.raises(ProviderConfigError, match="api_key"):
            provider_class(*key).from_config({})


def test_unknown_provider_names_the_known_ones() -> None:
    with pytest.raises(ProviderConfigError, match=r"known: .*policy"):
        provider_class("llm", "nope")


async def test_http_vendors_release_their_client_on_aclose() -> None:
    from voice_ai.providers.http import HttpVendor

    vendors = [(k, n) for k, n in ALL if issubclass(provider_class(k, n), HttpVendor)]
    assert len(vendors) >= 7
    for kind, name in vendors:
        cls = provider_class(kind, name)
        provider = cls.__new__(cls)  # no settings needed: only the HTTP client's life is checked
        client = provider.http_client(5.0)  # type: ignore[attr-defined]
        await provider.aclose()
        assert client.is_closed and provider._http is None, (kind, name)  # type: ignore[attr-defined]
