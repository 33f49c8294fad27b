"""Whisper with the tenant's lexicon: n-best rescoring (unit, fixed hypotheses and scores), the bounded prompt,
audio conditioning, and the n-best path on a real espeak-ng clip (its structure, never its words: they differ
between CPUs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from voice_ai.providers.audio import Audio
from voice_ai.providers.registry import provider_class
from voice_ai.providers.stt import whisper as whisper_module
from voice_ai.providers.stt.conditioning import STEPS, condition
from voice_ai.providers.stt.rescoring import alternatives, known_words, lexicon_fit, rescore
from voice_ai.providers.stt.whisper import (
    MAX_PROMPT_TOKENS,
    WhisperSTT,
    assemble_bundled_model,
    is_noise,
    prompt_tokens,
)
from voice_ai.understanding.lexicon import Lexicon

LEXICON = Lexicon.build(
    names=["Contabilidade Exata", "Financeiro"],
    keywords=["boletos, mensalidade, segunda via"],
    documents=["## Formas de pagamento\nAceitamos boleto bancário, Pix e cartão de crédito."],
)


def test_rescoring_prefers_the_hypothesis_in_the_tenants_words() -> None:
    hypotheses = [("Posso pagar contigo.", -0.30), ("Posso pagar com Pix?", -0.42), ("Posso pagar com pis.", -0.45)]
    assert [h.text for h in rescore(hypotheses, LEXICON, 0.0)] == [t for t, _ in hypotheses]  # Whisper's own order
    ranked = rescore(hypotheses, LEXICON, 1.0)
    assert ranked[0].text == "Posso pagar com Pix?" and ranked[0].fit == 0.25  # "Pix": 1 of its 4 words
    assert ranked[0].total == pytest.approx(-0.42 + 0.25)
    assert alternatives(ranked) == ("Posso pagar contigo.", "Posso pagar com pis.")  # no tenant word: Whisper's order
    # a far likelier hypothesis still wins: the lexicon breaks near-ties, it does not overrule the audio
    assert rescore([("Bom dia, tudo bem?", -0.1), ("Boleto Pix", -1.5)], LEXICON, 1.0)[0].text == "Bom dia, tudo bem?"


def test_rescoring_without_a_lexicon_keeps_whispers_order_and_drops_duplicates() -> None:
    ranked = rescore([("Era só isso.", -0.2), ("era so isso", -0.3), ("Era isso.", -0.4)], None, 1.0)
    assert [h.text for h in ranked] == ["Era só isso.", "Era isso."] and all(h.fit == 0 for h in ranked)
    assert rescore([], LEXICON, 1.0) == []


def test_the_fit_counts_the_tenants_content_words_and_their_stems() -> None:
    known = known_words(LEXICON)
    assert lexicon_fit("segunda via dos boletos", known) == 0.75  # "dos": a function word says nothing
    assert lexicon_fit("Boleto", known) == 1.0  # the stem of "boletos"
    assert lexicon_fit("com a de o", known) == 0.0  # function words, even though the documents have them
    assert lexicon_fit("contigo amanhã", known) == 0.0
    assert lexicon_fit("", known) == 0.0


def test_the_prompt_keeps_the_first_terms_within_its_token_bound() -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(assemble_bundled_model() / "tokenizer.json"))
    terms = ["Contabilidade Exata", "Pix", *(f"palavra{i}" for i in range(300))]
    ids = prompt_tokens(tokenizer, terms, 40)
    assert 0 < len(ids) <= 40
    text = tokenizer.decode(ids)
    assert text.strip().startswith("Contabilidade Exata, Pix") and not text.rstrip().endswith(",")
    assert len(prompt_tokens(tokenizer, terms, 10_000)) <= MAX_PROMPT_TOKENS  # Whisper's own bound
    assert prompt_tokens(tokenizer, terms, 0) == [] and prompt_tokens(tokenizer, [], 40) == []


@pytest.mark.parametrize("rate", [8000, 16000])
def test_audio_conditioning_keeps_the_length_and_the_rate(rate: int) -> None:
    t = np.arange(rate) / rate
    tone = (0.05 * np.sin(2 * np.pi * 440 * t) + 0.2).astype(np.float32)  # quiet, with a DC offset
    for step in STEPS:
        out = condition(tone, rate, [step])
        assert out.dtype == np.float32 and out.shape == tone.shape and np.all(np.isfinite(out))
    assert abs(float(np.mean(condition(tone, rate, ["highpass"])))) < 0.01  # the offset is gone
    assert float(np.max(np.abs(condition(tone, rate, ["normalize"])))) == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    assert np.all(condition(np.zeros(rate, np.float32), rate, ["normalize"]) == 0)  # silence stays silence
    hiss = (0.005 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)  # -46 dBFS: line noise, not a voice
    assert np.array_equal(condition(hiss, rate, ["normalize"]), hiss)
    assert float(np.max(np.abs(condition(hiss * 4, rate, ["normalize"])))) == pytest.approx(0.2, rel=1e-3)  # 10x
    assert condition(np.zeros(0, np.float32), rate, list(STEPS)).shape == (0,)
    with pytest.raises(ValueError, match="unknown audio conditioning step"):
        condition(tone, rate, ["louder"])


async def _clip(text: str) -> Audio:
    speech = await provider_class("tts", "espeak").from_config({}).synthesize(text, language="pt-BR", sample_rate=8000)
    return speech.audio


async def test_the_nbest_path_returns_alternatives_and_a_confidence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five hypotheses reach the rescoring; what comes back is the chosen one, a confidence, and the others that
    differ in words (a hypothesis differing only in punctuation is no alternative). Which words: the CPU's."""
    seen: list[list[tuple[str, float]]] = []

    def spy(candidates: Any, lexicon: Any, weight: float) -> Any:
        seen.append(list(candidates))
        return rescore(candidates, lexicon, weight)

    monkeypatch.setattr(whisper_module, "rescore", spy)
    stt = WhisperSTT.from_config({})
    heard = []
    for text in ("Posso pagar a mensalidade com Pix?", "Era só isso, obrigado, tchau", "Onde fica o escritório?"):
        audio = await _clip(text)
        heard.append(await stt.transcribe(audio, language="pt-BR", hints=list(LEXICON.terms), lexicon=LEXICON))
    assert [len(c) for c in seen] == [5, 5, 5] and all(score <= 0 for c in seen for _, score in c)
    for one in heard:
        assert one.text.strip() and one.language == "pt" and one.info.provider == "whisper"
        assert one.confidence is not None and 0 < one.confidence <= 1
        assert len(one.alternatives) <= 4 and all(isinstance(a, str) and a.strip() for a in one.alternatives)
        assert one.text not in one.alternatives and len(set(one.alternatives)) == len(one.alternatives)
    assert any(one.alternatives for one in heard)  # five beams never all say the same words three times over

    best_only = WhisperSTT.from_config({"hypotheses": 1})  # faster-whisper's own path: the best hypothesis only
    one = await best_only.transcribe(audio, language="pt-BR", hints=list(LEXICON.terms), lexicon=LEXICON)
    assert one.text.strip() and one.alternatives == () and len(seen) == 3


async def test_a_failing_nbest_path_falls_back_to_the_best_hypothesis(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, *args: Any) -> Any:
        raise RuntimeError("a CTranslate2 surprise")

    monkeypatch.setattr(WhisperSTT, "_nbest", broken)
    audio = await _clip("Quero falar com o financeiro")
    heard = await WhisperSTT.from_config({}).transcribe(audio, language="pt-BR", lexicon=LEXICON)
    assert heard.text.strip() and heard.alternatives == ()


async def test_silence_is_no_words_on_the_nbest_path() -> None:
    silence = Audio(b"\x00\x00" * 8000 * 2, 8000)
    heard = await WhisperSTT.from_config({}).transcribe(silence, language="pt-BR", hints=list(LEXICON.terms))
    assert heard.text == "" and heard.alternatives == ()


async def test_speech_longer_than_a_window_takes_the_windowed_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Longer than one window (30 s; 1 s here): faster-whisper's own path, which windows the audio."""
    decoded: list[float] = []
    decode = WhisperSTT._decode

    def spy(self: Any, model: Any, samples: Any, duration_s: float, *args: Any) -> Any:
        decoded.append(duration_s)
        return decode(self, model, samples, duration_s, *args)

    monkeypatch.setattr(WhisperSTT, "_decode", spy)
    audio = await _clip("Quero falar com o financeiro")
    stt = WhisperSTT.from_config({})
    assert (await stt.transcribe(audio, language="pt-BR", lexicon=LEXICON)).alternatives and decoded == []
    monkeypatch.setattr(whisper_module, "NBEST_MAX_S", 1.0)
    heard = await stt.transcribe(audio, language="pt-BR", lexicon=LEXICON)
    assert heard.text.strip() and heard.alternatives == () and decoded == [audio.duration_s]


async def test_the_stt_stage_hands_on_the_confidence_and_the_alternatives() -> None:
    """``conversation.listen`` (turn-based and streaming calls): the chosen words, the recogniser's confidence and
    its other hypotheses, for understanding to weigh (``DialogContext.heard``)."""
    import uuid

    from voice_ai.conversation.listen import listen
    from voice_ai.providers import deadline
    from voice_ai.providers.manager import FallbackChain, Member

    stt = WhisperSTT.from_config({})
    chain: FallbackChain[Any] = FallbackChain("stt", uuid.uuid4(), [Member(stt, None)])
    audio = await _clip("Preciso da segunda via do meu boleto")
    direct = await stt.transcribe(audio, language="pt-BR", hints=list(LEXICON.terms), lexicon=LEXICON)
    heard = await listen(
        chain,
        audio,
        language="pt-BR",
        hints=list(LEXICON.terms),
        due=deadline.now() + 60,
        call_uuid="c1",
        lexicon=LEXICON,
    )
    assert heard.provider == "whisper" and heard.text == direct.text.strip()  # same model, same CPU: same words
    assert heard.confidence == direct.confidence and heard.alternatives == direct.alternatives


def test_noise_is_no_words_even_when_the_prompt_put_a_tenant_term_in_it() -> None:
    """Measured (the constants' comment): white noise gave no-speech 0.38-0.49, best -2.1..-2.3 per token, and
    "Fiscal"; espeak-ng questions no-speech <= 0.12, best >= -1.5."""
    assert is_noise(0.38, -2.1) and is_noise(0.49, -2.3) and is_noise(0.7, -1.2)  # noise; faster-whisper's own rule
    assert not is_noise(0.12, -1.5) and not is_noise(0.05, -0.5)  # speech, even badly recognised speech
    assert not is_noise(0.5, -0.8)  # a confident hypothesis is words, whatever the no-speech probability


def test_the_question_asked_is_the_prompt() -> None:
    """A short answer is heard as an answer to the secretary's question when the question is Whisper's prompt
    (the text "just before" the audio); the terms stay out (they made "sim" come out as "Simples")."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(assemble_bundled_model() / "tokenizer.json"))
    terms = ["Contabilidade Exata", "Simples Nacional", *(f"palavra{i}" for i in range(300))]
    question = "Só para confirmar: você quer saber sobre formas de pagamento?"
    ids = prompt_tokens(tokenizer, terms, 120, question)
    assert tokenizer.decode(ids).strip() == question
    assert prompt_tokens(tokenizer, terms, 40, None) == prompt_tokens(tokenizer, terms, 40)
    assert prompt_tokens(tokenizer, terms, 0, question) == []
    assert len(prompt_tokens(tokenizer, terms, 10, question)) == 10  # the question's last words within the bound


def test_the_question_the_caller_answers_is_the_secretarys_last_question_after_the_greeting() -> None:
    from types import SimpleNamespace

    from voice_ai.conversation.listen import question_asked

    def said(turn: int, role: str, text: str) -> Any:
        return SimpleNamespace(turn_index=turn, role=role, text=text)

    greeting = said(0, "assistant", "Olá! Você ligou para a Exata. Como posso ajudar?")
    assert question_asked([]) is None and question_asked([greeting]) is None  # the first request is open
    confirm = "Só para confirmar: você quer saber sobre formas de pagamento?"
    history = [greeting, said(1, "user", "posso pagar com pique"), said(1, "assistant", confirm)]
    assert question_asked(history) == confirm
    answered = [*history, said(2, "user", "sim"), said(2, "assistant", "Aceitamos boleto, Pix e cartão.")]
    assert question_asked(answered) is None  # a statement asks nothing


async def test_the_stt_stage_gives_the_recogniser_the_question_asked() -> None:
    import uuid

    from voice_ai.conversation.listen import listen
    from voice_ai.providers import deadline
    from voice_ai.providers.manager import FallbackChain, Member
    from voice_ai.providers.stt.context import current_question
    from voice_ai.providers.types import Transcript

    seen: list[str | None] = []

    class Recorder(WhisperSTT):
        async def _transcribe_impl(
            self, audio: Audio, language: str | None, hints: list[str], lexicon: Any = None
        ) -> Transcript:
            seen.append(current_question())
            return Transcript("sim", language)

    chain: FallbackChain[Any] = FallbackChain("stt", uuid.uuid4(), [Member(Recorder.from_config({}), None)])
    audio = Audio(b"\x00\x00" * 8000, 8000)
    for asked in ("Quer que eu transfira para um atendente?", None):
        await listen(chain, audio, language="pt-BR", hints=[], due=deadline.now() + 30, call_uuid="c", asked=asked)
    assert seen == ["Quer que eu transfira para um atendente?", None] and current_question() is None
