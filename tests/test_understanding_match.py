"""Understanding that survives recognition errors, without a database or STT: the Portuguese phonetic key,
sound-alike matching of words and word runs, transcript repair and expansion from one tenant's lexicon, garbled
intents and routing by a sound-alike keyword. The garbled transcripts are the kind Whisper base writes for espeak
pt-BR on a phone line (issue 12), written here as fixed text: nothing depends on a recogniser's exact output."""

from __future__ import annotations

import pytest

from voice_ai.providers.llm.policy import intents
from voice_ai.providers.llm.policy.routing import keyword_score, route
from voice_ai.providers.llm.text import tokens
from voice_ai.providers.types import TransferTarget
from voice_ai.understanding.lexicon import Lexicon
from voice_ai.understanding.match import Matcher, similarity, words_of
from voice_ai.understanding.phonetic import phonetic_key, phrase_key
from voice_ai.understanding.repair import expand, repair

ACCOUNTING_DOCS = """# Escritório Contábil Modelo
## Formas de pagamento
Aceitamos boleto bancário, Pix e cartão de crédito. A mensalidade vence todo dia 10.
## Horário de atendimento
Segunda a sexta-feira, das 8h às 18h. Estacionamento conveniado na mesma quadra.
## Declaração de Imposto de Renda
A declaração simples custa R$ 180,00.
"""
ACCOUNTING = Lexicon.build(
    names=["Escritório Contábil Modelo", "Financeiro", "Fiscal"],
    keywords=["boletos, mensalidade, segunda via", "impostos, notas fiscais"],
    documents=[ACCOUNTING_DOCS],
)
BAKERY = Lexicon.build(
    names=["Padaria Trigo Bom"],
    documents=["## Encomendas\nBolos de aniversário e pães de fermentação natural. Entregamos pelo Pix ou dinheiro."],
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("obrigado", "Obricata"),  # g/c and d/t: voiced and unvoiced merged
        ("tchau", "Chau"),
        ("xau", "tchau"),
        ("Pix", "pegs"),  # final x sounds ks; g ~ k
        ("imposto", "emposto"),  # the leading vowel is only a vowel
        ("horário", "orário"),  # silent h
        ("preço", "presso"),  # ç, ss
        ("boleto", "poleto"),
        ("exame", "ezame"),
        ("tem", "ten"),  # final nasal
        ("falar", "falá"),  # final r dropped
        ("Brasil", "Brasiu"),  # vocalised l
        ("guerra", "gera"),
        ("quero", "kero"),
    ],
)
def test_portuguese_sound_alikes_share_a_key(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


@pytest.mark.parametrize(("a", "b"), [("já", "chá"), ("pato", "gato"), ("mesa", "mala"), ("sim", "não")])
def test_different_sounds_keep_different_keys(a: str, b: str) -> None:
    assert phonetic_key(a) != phonetic_key(b)


def test_english_words_get_a_key_too() -> None:
    assert phonetic_key("thanks", "en") == phonetic_key("tanks", "en")
    assert phonetic_key("night", "en") == phonetic_key("nite", "en")
    assert phonetic_key("") == "" and phonetic_key("123") == ""


def test_word_runs_said_as_one() -> None:
    assert phrase_key(["menta", "lidar", "de"]) == "MNTLT"
    assert similarity("menta lidar de", "mensalidade") >= 0.8
    assert similarity("declaracao", "declaração") == 1.0
    assert similarity("custa", "mesa") < 0.5


def test_matcher_finds_a_word_in_one_or_several_transcript_words() -> None:
    matcher = Matcher(["mensalidade", "Pix", "boleto"])
    found = {(f.heard, f.term) for f in matcher.find(words_of("qual a menta lidar de e o pegs"), floor=0.8)}
    assert ("menta lidar de", "mensalidade") in found and ("pegs", "pix") in found


@pytest.mark.parametrize(
    ("heard", "repaired"),
    [
        ("Qual o valor da menta lidar de?", "Qual o valor da mensalidade?"),
        ("Posso pagar com pegs?", "Posso pagar com Pix?"),
        ("Preciso da segunda via do meu poleto", "Preciso da segunda via do meu boleto"),
        ("Tem estassionamento aí?", "Tem Estacionamento aí?"),
    ],
)
def test_repair_restores_the_tenants_terms(heard: str, repaired: str) -> None:
    result = repair(heard, ACCOUNTING)
    assert result.text == repaired and result.changed


@pytest.mark.parametrize(
    "text",
    [
        "Posso pagar contigo?",  # ordinary words are never "corrected" (posso is not pessoa)
        "Quanto curta a declaração e imposto de renda?",  # curta is a word: no guess at custa/cartão
        "Qual o valor da mensalidade?",  # already right
        "da Saísa Obricata, Chau.",  # not the tenant's words: left to the intents
        "Quero falar com a fiscal sobre o boleto",
        "",
    ],
)
def test_repair_leaves_ordinary_and_right_words_alone(text: str) -> None:
    assert repair(text, ACCOUNTING).text == text


def test_repair_uses_only_the_given_tenants_lexicon() -> None:
    """A word only another tenant has is never brought in: the bakery's "fermentação" is not the accounting
    office's, and an empty lexicon repairs nothing."""
    garbled = "Vocês fazem pão de fermentassão?"
    assert repair(garbled, BAKERY).text == "Vocês fazem pão de fermentação?"
    assert repair(garbled, ACCOUNTING).text == garbled
    assert "fermentação" not in expand(garbled, ACCOUNTING)
    assert repair("Posso pagar com pegs?", Lexicon()).text == "Posso pagar com pegs?"
    assert expand("Posso pagar com pegs?", Lexicon()) == []


def test_expand_suggests_terms_without_replacing() -> None:
    assert "Horário" in expand("Qual é o orário de atendimento?", ACCOUNTING)
    assert expand("Qual o valor da mensalidade?", ACCOUNTING) == []  # nothing garbled, nothing added
    assert repair("Qual é o orário?", ACCOUNTING).text == "Qual é o orário?"  # a short key: suggested only


@pytest.mark.parametrize(
    "text",
    ["da Saísa Obricata, Chau.", "Era só isso, obrigado, tchau", "Tá bom, xau", "adeos", "That's all, bye"],
)
def test_garbled_goodbyes_are_goodbyes(text: str) -> None:
    assert intents.is_goodbye(text)


@pytest.mark.parametrize("text", ["Quero um chá", "Já paguei o boleto", "Qual o horário?", "Chá ou café?"])
def test_other_words_are_not_goodbyes(text: str) -> None:
    assert not intents.is_goodbye(text)


def test_garbled_requests_for_a_person_yes_and_no() -> None:
    assert intents.asks_for_person("quero falar com um atendenti")
    assert intents.asks_for_person("Quero falar com uma pesoa")
    assert not intents.asks_for_person("Posso pagar com Pix?")  # posso is a word, not "pessoa"
    assert intents.asks_for_transfer("Pode transfirir pro financeiro?")
    assert intents.is_thanks("Obricata") and not intents.is_thanks("Qual o preço?")
    assert intents.is_yes("Sim, pode") and intents.is_yes("Claru") and not intents.is_yes("Não, obrigado")
    assert intents.is_no("Não, obrigado") and intents.is_no("Nope") and not intents.is_no("Sim")
    # the old names stay importable for the dialog policy
    assert intents.GOODBYE.search("tchau") and intents.HUMAN.search("atendente")


TARGETS = [
    TransferTarget("Financeiro", "203", "boletos, mensalidade, segunda via, cobrança"),
    TransferTarget("Fiscal", "201", "impostos, notas fiscais, Simples Nacional"),
    TransferTarget("Departamento Pessoal", "202", "folha de pagamento, férias, admissão"),
]


async def test_routing_finds_a_rule_from_a_sound_alike_keyword() -> None:
    for text in ("Preciso da segunda via do meu poleto", "Quero falar da menta lidar de"):
        match = await route(text, tokens(text), TARGETS, similarity=None, semantic_weight=0)
        assert match is not None and match.target.department == "Financeiro", text
    # exact beats sound-alike, and the scoring shape stays: words without heard text score as before
    exact = keyword_score(tokens("segunda via do boleto"), TARGETS[0])
    fuzzy = keyword_score(tokens("segunda via do poleto"), TARGETS[0], heard=words_of("segunda via do poleto"))
    assert exact == 2.25 and 1.0 < fuzzy < exact
    assert keyword_score(tokens("segunda via do poleto"), TARGETS[0]) == 1.25  # without heard words: no fuzzy hit
    nothing = await route(
        "Posso pagar com cartão?", tokens("Posso pagar com cartão?"), TARGETS, similarity=None, semantic_weight=0
    )
    assert nothing is None or nothing.target.department != "Departamento Pessoal"
