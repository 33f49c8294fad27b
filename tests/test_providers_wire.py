"""Cloud providers at the wire level: the official SDKs against a local server speaking each vendor's
documented protocol (auth header, path, JSON shape, streaming), with 401, 429 and 5xx mapped to typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from fakes.vendors import ANTHROPIC_KEY, OPENAI_KEY, TRANSCRIPT, VENDOR_KEY
from voice_ai.providers.audio import Audio
from voice_ai.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from voice_ai.providers.llm.decision import DECISION_SCHEMA
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext, Passage, TransferTarget

CONTEXT = DialogContext(
    company_name="Contabilidade Exata",
    passages=[Passage("Atendemos de segunda a sexta, das 8h às 18h.")],
    transfer_targets=[TransferTarget("Financeiro", "203", "boletos, segunda via")],
)
QUESTION = [ChatMessage("user", "Qual o horário?")]


def _openai(vendors: Any, name: str = "openai", **extra: Any) -> Any:
    config = {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "max_retries": 2, **extra}
    return provider_class("llm", name).from_config(config)


async def test_openai_chat_with_structured_decision(vendors: Any) -> None:
    llm = _openai(vendors, model="gpt-4o-mini")
    result = await llm.chat(QUESTION, context=CONTEXT, response_schema=DECISION_SCHEMA)
    assert result.data == vendors.reply and result.text == vendors.reply["response"]
    assert result.info.usage == {"input_tokens": 42, "output_tokens": 7}
    assert result.info.attempts == 1 and result.info.provider == "openai"
    sent = vendors.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["response_format"]["type"] == "json_schema"
    assert sent.body["response_format"]["json_schema"]["schema"] == DECISION_SCHEMA
    system = sent.body["messages"][0]
    assert system["role"] == "system" and "8h às 18h" in system["content"] and "Financeiro" in system["content"]
    assert sent.body["messages"][-1] == {"role": "user", "content": "Qual o horário?"}


async def test_openai_streaming(vendors: Any) -> None:
    llm = _openai(vendors)
    pieces = [piece async for piece in llm.chat_stream(QUESTION)]
    assert pieces == ["Funcionamos ", "das 8h ", "às 18h."]
    assert vendors.requests[-1].body["stream"] is True


async def test_openai_compatible_needs_no_key_and_groq_is_the_same_protocol(vendors: Any) -> None:
    # a local server without auth would accept anything; ours checks, so send the key it expects
    local = provider_class("llm", "openai_compatible").from_config(
        {
            "base_url": f"{vendors.base_url}/v1",
            "model": "llama3.1",
            "api_key": OPENAI_KEY,
            "structured_output": "json_object",
        }
    )
    result = await local.chat(QUESTION, response_schema=DECISION_SCHEMA)
    assert result.data == vendors.reply
    assert vendors.requests[-1].body["response_format"] == {"type": "json_object"}
    groq = _openai(vendors, "groq")
    assert (await groq.chat(QUESTION)).text == "ok"
    assert vendors.requests[-1].body["model"] == "llama-3.1-8b-instant"


async def test_azure_openai_uses_deployment_path_and_api_key_header(vendors: Any) -> None:
    llm = provider_class("llm", "azure_openai").from_config(
        {"api_key": OPENAI_KEY, "endpoint": vendors.base_url, "deployment": "gpt4o-prod", "max_retries": 0}
    )
    result = await llm.chat(QUESTION, response_schema=DECISION_SCHEMA)
    assert result.data == vendors.reply
    sent = vendors.requests[-1]
    assert sent.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert sent.headers["api-key"] == OPENAI_KEY and sent.query["api-version"] == ["2024-10-21"]
    assert "authorization" not in sent.headers
    wrong = provider_class("llm", "azure_openai").from_config(
        {"api_key": "bad-key-000000000000", "endpoint": vendors.base_url, "deployment": "gpt4o-prod"}
    )
    with pytest.raises(ProviderAuthError, match="invalid subscription key"):
        await wrong.chat(QUESTION)


async def test_401_is_not_retried_and_is_clear(vendors: Any) -> None:
    llm = provider_class("llm", "openai").from_config(
        {"api_key": "sk-wrong-key-000000000000000000", "base_url": f"{vendors.base_url}/v1", "max_retries": 3}
    )
    with pytest.raises(ProviderAuthError) as info:
        await llm.chat(QUESTION)
    assert len(vendors.requests) == 1
    assert "authentication failed (HTTP 401): Incorrect API key provided" in str(info.value)
    assert "sk-wrong" not in str(info.value)


async def test_429_and_5xx_are_retried_then_typed(vendors: Any) -> None:
    llm = _openai(vendors)
    vendors.script[:] = [429, 503]
    assert (await llm.chat(QUESTION)).info.attempts == 3
    vendors.reset()
    vendors.script[:] = [500, 500, 500]
    with pytest.raises(ProviderUnavailableError, match="HTTP 500"):
        await llm.chat(QUESTION)
    assert len(vendors.requests) == 3
    vendors.reset()
    vendors.script[:] = [429, 429, 429]
    with pytest.raises(ProviderRateLimitedError):
        await llm.chat(QUESTION)


async def test_timeout_is_typed(vendors: Any) -> None:
    llm = _openai(vendors, timeout_s=0.3, max_retries=0)
    vendors.script[:] = ["slow"]
    with pytest.raises(ProviderTimeoutError):
        await llm.chat(QUESTION)


async def test_anthropic_tool_call_decision(vendors: Any) -> None:
    llm = provider_class("llm", "anthropic").from_config(
        {"api_key": ANTHROPIC_KEY, "base_url": vendors.base_url, "model": "claude-haiku-4-5"}
    )
    result = await llm.chat(
        [ChatMessage("system", "Seja breve."), *QUESTION], context=CONTEXT, response_schema=DECISION_SCHEMA
    )
    assert result.data == vendors.reply
    assert result.info.usage == {"input_tokens": 40, "output_tokens": 9}
    sent = vendors.requests[-1]
    assert sent.path == "/v1/messages"
    assert ANTHROPIC_KEY in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "")[7:])
    assert "anthropic-version" in sent.headers
    assert sent.body["tool_choice"] == {"type": "tool", "name": "respond"}
    assert sent.body["tools"][0]["input_schema"] == DECISION_SCHEMA
    assert sent.body["system"].startswith("Seja breve.")
    assert all(m["role"] != "system" for m in sent.body["messages"])


async def test_anthropic_errors(vendors: Any) -> None:
    bad = provider_class("llm", "anthropic").from_config(
        {"api_key": "sk-ant-wrong-0000000000", "base_url": vendors.base_url}
    )
    with pytest.raises(ProviderAuthError, match="invalid x-api-key"):
        await bad.chat(QUESTION)
    llm = provider_class("llm", "anthropic").from_config(
        {"api_key": ANTHROPIC_KEY, "base_url": vendors.base_url, "max_retries": 1}
    )
    vendors.reset()
    vendors.script[:] = [529, 529]
    with pytest.raises(ProviderUnavailableError, match="HTTP 529"):
        await llm.chat(QUESTION)
    assert len(vendors.requests) == 2


async def test_openai_embeddings_batches(vendors: Any) -> None:
    embedder = provider_class("embeddings", "openai").from_config(
        {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1", "dimensions": 16}
    )
    embedder.batch_size = 2  # type: ignore[misc]
    result = await embedder.embed(["a", "bb", "ccc"], kind="passage")
    assert len(result.vectors) == 3 and result.dimensions == 16
    assert [len(r.body["input"]) for r in vendors.requests] == [2, 1]
    assert vendors.requests[0].body["model"] == "text-embedding-3-small"


# --- speech vendors over plain HTTP (and OpenAI's audio endpoints through its SDK) --------------------------


SPEECH = Audio(b"\x10\x00" * 8000, 8000)  # one second of 8 kHz audio
HINTS = ["Contabilidade Exata", "boleto"]


def _stt(vendors: Any, name: str, **extra: Any) -> Any:
    base = {
        "deepgram": {"api_key": VENDOR_KEY, "base_url": vendors.base_url},
        "azure": {"api_key": VENDOR_KEY, "endpoint": vendors.base_url},
        "google": {"api_key": VENDOR_KEY, "base_url": vendors.base_url},
        "openai": {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1"},
    }[name]
    return provider_class("stt", name).from_config({**base, **extra})


@pytest.mark.parametrize("name", ["deepgram", "azure", "google", "openai"])
async def test_cloud_stt(vendors: Any, name: str) -> None:
    transcript = await _stt(vendors, name).transcribe(SPEECH, language="pt-BR", hints=HINTS)
    assert transcript.text == TRANSCRIPT and transcript.duration_s == pytest.approx(1.0)
    sent = vendors.requests[-1]
    if name == "deepgram":
        assert sent.path == "/v1/listen" and sent.query["language"] == ["pt-BR"]
        assert sent.query["keywords"] == HINTS and sent.raw[:4] == b"RIFF"
    elif name == "azure":
        assert sent.query["language"] == ["pt-BR"] and "samplerate=16000" in sent.headers["content-type"]
        assert transcript.confidence == 0.88
    elif name == "google":
        assert sent.body["config"]["sampleRateHertz"] == 8000 and sent.body["config"]["languageCode"] == "pt-BR"
        assert sent.body["config"]["speechContexts"] == [{"phrases": HINTS}]
    else:
        assert sent.path == "/v1/audio/transcriptions" and b"Contabilidade Exata, boleto" in sent.raw


@pytest.mark.parametrize("name", ["deepgram", "azure", "google", "openai"])
async def test_cloud_stt_errors_are_typed(vendors: Any, name: str) -> None:
    wrong = _stt(vendors, name, api_key="wrong-key-0000000000")
    with pytest.raises(ProviderAuthError):
        await wrong.transcribe(SPEECH, language="pt-BR")
    vendors.reset()
    vendors.script[:] = [503, 503]
    with pytest.raises(ProviderUnavailableError):
        await _stt(vendors, name, max_retries=1).transcribe(SPEECH)
    assert len(vendors.requests) == 2
    vendors.reset()
    vendors.script[:] = [429, 429]
    with pytest.raises(ProviderRateLimitedError):
        await _stt(vendors, name, max_retries=1).transcribe(SPEECH)
    vendors.reset()
    vendors.script[:] = ["garbage"]
    with pytest.raises(ProviderError) as info:  # an HTML page instead of JSON: typed, not a crash
        await _stt(vendors, name, max_retries=0).transcribe(SPEECH)
    assert "unexpected" in str(info.value)


def _tts(vendors: Any, name: str, **extra: Any) -> Any:
    base = {
        "elevenlabs": {"api_key": VENDOR_KEY, "base_url": vendors.base_url, "voice_id": "voz-pt"},
        "azure": {"api_key": VENDOR_KEY, "endpoint": vendors.base_url},
        "google": {"api_key": VENDOR_KEY, "base_url": vendors.base_url},
        "openai": {"api_key": OPENAI_KEY, "base_url": f"{vendors.base_url}/v1"},
    }[name]
    return provider_class("tts", name).from_config({**base, **extra})


@pytest.mark.parametrize("name", ["elevenlabs", "azure", "google", "openai"])
@pytest.mark.parametrize("rate", [8000, 16000])
async def test_cloud_tts_returns_audio_at_the_requested_rate(vendors: Any, name: str, rate: int) -> None:
    speech = await _tts(vendors, name).synthesize("Olá, <tudo> bem?", language="pt-BR", sample_rate=rate)
    assert speech.audio.sample_rate == rate and 0.4 < speech.audio.duration_s < 0.6
    assert Audio.from_wav(speech.audio.wav()).sample_rate == rate
    sent = vendors.requests[-1]
    if name == "elevenlabs":
        assert sent.path == "/v1/text-to-speech/voz-pt" and sent.body["text"] == "Olá, <tudo> bem?"
        assert sent.query["output_format"] == [f"pcm_{rate}"]
    elif name == "azure":
        assert b"Ol\xc3\xa1, &lt;tudo&gt; bem?" in sent.raw  # SSML-escaped
        assert sent.headers["x-microsoft-outputformat"] == f"riff-{rate // 1000}khz-16bit-mono-pcm"
    elif name == "google":
        assert sent.body["voice"]["languageCode"] == "pt-BR" and sent.body["audioConfig"]["audioEncoding"] == "LINEAR16"
    else:
        assert sent.body["response_format"] == "pcm" and sent.body["voice"] == "alloy"


@pytest.mark.parametrize("name", ["elevenlabs", "azure", "google", "openai"])
async def test_cloud_tts_errors_are_typed(vendors: Any, name: str) -> None:
    with pytest.raises(ProviderAuthError):
        await _tts(vendors, name, api_key="nope-000000000000").synthesize("Oi")
    vendors.reset()
    vendors.script[:] = [429, 500]
    with pytest.raises(ProviderUnavailableError):
        await _tts(vendors, name, max_retries=1).synthesize("Oi")
    assert len(vendors.requests) == 2
    vendors.reset()
    vendors.script[:] = ["garbage"]
    with pytest.raises(ProviderError):
        await _tts(vendors, name, max_retries=0).synthesize("Oi")


async def test_elevenlabs_sends_language_only_to_models_that_take_it(vendors: Any) -> None:
    await _tts(vendors, "elevenlabs").synthesize("Oi", language="pt-BR")
    assert "language_code" not in vendors.requests[-1].body
    await _tts(vendors, "elevenlabs", model_id="eleven_flash_v2_5").synthesize("Oi", language="pt-BR")
    assert vendors.requests[-1].body["language_code"] == "pt"


async def test_404_is_a_configuration_error(vendors: Any) -> None:
    from voice_ai.providers.errors import ProviderConfigError

    vendors.script[:] = [404]
    with pytest.raises(ProviderConfigError, match="check the configured model"):
        await _openai(vendors, max_retries=3).chat(QUESTION)
    assert len(vendors.requests) == 1


async def test_gemini(vendors: Any) -> None:
    llm = provider_class("llm", "gemini").from_config({"api_key": VENDOR_KEY, "base_url": vendors.base_url})
    result = await llm.chat(
        [ChatMessage("system", "Seja breve."), *QUESTION], context=CONTEXT, response_schema=DECISION_SCHEMA
    )
    assert result.data == vendors.reply and result.info.usage == {"input_tokens": 30, "output_tokens": 8}
    sent = vendors.requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.body["generationConfig"]["responseJsonSchema"] == DECISION_SCHEMA
    assert sent.body["systemInstruction"]["parts"][0]["text"].startswith("Seja breve.")
    assert sent.body["contents"] == [{"role": "user", "parts": [{"text": "Qual o horário?"}]}]
    assert sent.body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}
    wrong = provider_class("llm", "gemini").from_config({"api_key": "bad-000000000000", "base_url": vendors.base_url})
    with pytest.raises(ProviderAuthError, match="API key not valid"):
        await wrong.chat(QUESTION)


async def test_elevenlabs_streams_audio_in_chunks(vendors: Any) -> None:
    tts = _tts(vendors, "elevenlabs")
    chunks = [c async for c in tts.synthesize_stream("Olá, como posso ajudar?", language="pt-BR", sample_rate=16000)]
    assert len(chunks) == 4  # one second in 0.25 s chunks
    assert all(c.audio.sample_rate == 16000 for c in chunks)
    assert sum(c.audio.duration_s for c in chunks) == pytest.approx(1.0, abs=0.01)
    assert vendors.requests[-1].path == "/v1/text-to-speech/voz-pt/stream"
    with pytest.raises(ProviderAuthError):
        async for _ in _tts(vendors, "elevenlabs", api_key="nope-0000000000000").synthesize_stream("Oi"):
            pass


async def test_default_streaming_is_sentence_by_sentence() -> None:
    tts = provider_class("tts", "espeak").from_config({})
    chunks = [c async for c in tts.synthesize_stream("Bom dia. Como posso ajudar? Estamos abertos.", language="pt-BR")]
    assert len(chunks) == 3 and all(c.audio.duration_s > 0.3 for c in chunks)
