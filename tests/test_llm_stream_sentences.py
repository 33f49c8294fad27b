"""How a streamed reply is cut into sentences (pt-BR abbreviations and numbers, the early first clause)."""

from __future__ import annotations

from voice_ai.providers.llm.sentences import FIRST_CLAUSE_MIN, SentenceCutter, split_sentences


def test_abbreviations_and_numbers_do_not_end_a_sentence() -> None:
    text = (
        "O Sr. João e a Dra. Ana atendem às 10h30. A consulta custa R$ 1.500,00, pagos até o dia 5. "
        'Falou com a Profa. Lima? Sim! Ele disse "tchau." Depois saiu... E voltou.'
    )
    assert split_sentences(text) == [
        "O Sr. João e a Dra. Ana atendem às 10h30.",
        "A consulta custa R$ 1.500,00, pagos até o dia 5.",
        "Falou com a Profa. Lima?",
        "Sim!",
        'Ele disse "tchau."',
        "Depois saiu...",
        "E voltou.",
    ]
    assert split_sentences("Fale com J. Silva, na Av. Brasil, nº 10. Obrigada.") == [
        "Fale com J. Silva, na Av. Brasil, nº 10.",
        "Obrigada.",
    ]


def test_a_sentence_is_given_out_only_once_the_next_word_began() -> None:
    cutter = SentenceCutter()
    assert cutter.update("Bom dia. O Sr.") == ["Bom dia."]
    assert cutter.update("Bom dia. O Sr. ") == []  # "Sr." followed by what? not known yet
    assert cutter.update("Bom dia. O Sr. Paulo chega às 8h.") == []  # the last one may go on
    assert cutter.update("Bom dia. O Sr. Paulo chega às 8h. Até") == ["O Sr. Paulo chega às 8h."]
    assert cutter.update("Bom dia. O Sr. Paulo chega às 8h. Até logo") == []
    assert cutter.flush() == ["Até logo"]


def test_a_long_first_clause_is_cut_at_a_comma_after_the_minimum() -> None:
    long = (
        "Para emitir a segunda via do boleto você precisa acessar o portal do cliente, depois clique em "
        "financeiro, e escolha a fatura. Pronto."
    )
    parts = split_sentences(long)
    assert parts[0] == "Para emitir a segunda via do boleto você precisa acessar o portal do cliente,"
    assert len(parts[0]) >= FIRST_CLAUSE_MIN
    assert parts[1:] == ["depois clique em financeiro, e escolha a fatura.", "Pronto."]  # only the first is cut
    # a short clause is not cut, nor a comma inside a number
    assert split_sentences("Olá, tudo bem? Sim.") == ["Olá, tudo bem?", "Sim."]
    price = "O valor da mensalidade do plano completo de contabilidade é R$ 1.500,00 por mês. Ok."
    assert (
        split_sentences(price)[0] == "O valor da mensalidade do plano completo de contabilidade é R$ 1.500,00 por mês."
    )
    # while streaming, the clause is given out as soon as its comma and a space arrived
    cutter = SentenceCutter()
    assert cutter.update(long[:78]) == []
    assert cutter.update(long[:79]) == [parts[0]]
