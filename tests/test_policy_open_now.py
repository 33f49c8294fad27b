""" "Are you open now?" answered by the dialog policy from the opening hours (issue 13, point 1): only the schedule
knows what is open at this moment; a question about the hours themselves is still the documents' to answer, and
without a schedule nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from test_policy_answers import CLINIC, TARGETS
from voice_ai.providers.llm.policy.open_now import asks_if_open_now
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import ChatMessage, DialogContext, Opening

CLOSED = Opening(now="Sunday 2026-11-29 10:00 (America/Sao_Paulo)", open=False, opens="amanhã às 8h")
OPEN_BUT_FINANCE = Opening(
    now="Monday 2026-11-30 18:30 (America/Sao_Paulo)", open=True, closed={"Financeiro": "amanhã às 9h"}
)


@pytest.fixture(scope="module")
def policy() -> Any:
    return provider_class("llm", "policy").from_config({})


async def say(policy: Any, opening: Opening | None, *turns: str, language: str = "pt-BR") -> dict[str, Any]:
    """The policy's decision for the last of ``turns`` (caller, secretary, caller…)."""
    context = DialogContext(
        language=language,
        company_name="Clínica Sorriso Pleno",
        passages=CLINIC,
        transfer_targets=TARGETS,
        opening=opening,
    )
    messages = [ChatMessage("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(turns)]
    return dict((await policy.chat(messages, context=context)).data)


@pytest.mark.parametrize(
    "question", ["Vocês estão abertos agora?", "vcs tão funcionando hoje", "a clínica ainda está aberta?"]
)
async def test_closed_now_says_so_with_the_next_opening_and_the_offer_of_a_message(policy: Any, question: str) -> None:
    decided = await say(policy, CLOSED, question)
    assert decided["response"] == "No momento estamos fechados. Abrimos amanhã às 8h. Quer deixar um recado?"
    assert decided["action"] == "continue"


async def test_open_now_says_so(policy: Any) -> None:
    decided = await say(policy, OPEN_BUT_FINANCE, "Vocês estão atendendo agora?")
    assert decided["response"].startswith("Sim, estamos abertos agora.")


async def test_a_department_closed_now_and_one_open_that_a_yes_then_reaches(policy: Any) -> None:
    closed = await say(policy, OPEN_BUT_FINANCE, "O financeiro está atendendo agora?")
    assert closed["response"] == (
        "O setor Financeiro não está atendendo agora. Ele abre amanhã às 9h. Quer deixar um recado?"
    )
    asked = "A recepção está aberta?"
    opened = await say(policy, OPEN_BUT_FINANCE, asked)
    assert opened["response"] == "Sim, o setor Recepção está atendendo agora. Posso transferir você para Recepção?"
    yes = await say(policy, OPEN_BUT_FINANCE, asked, opened["response"], "sim")
    assert (yes["action"], yes["department"]) == ("transfer", "Recepção")


async def test_a_question_about_the_hours_is_still_answered_from_the_documents(policy: Any) -> None:
    decided = await say(policy, CLOSED, "Que horas vocês abrem no sábado?")
    assert "8h às 12h" in decided["response"]


async def test_without_a_schedule_nothing_is_said_about_now(policy: Any) -> None:
    decided = await say(policy, None, "Vocês estão abertos agora?")
    assert "estamos abertos" not in decided["response"] and "fechados" not in decided["response"]


async def test_in_english(policy: Any) -> None:
    closed = Opening(now="Sunday 2026-11-29 10:00 (America/New_York)", open=False, opens="tomorrow at 8 a.m.")
    decided = await say(policy, closed, "Are you still open?", language="en-US")
    assert decided["response"] == (
        "We are closed right now. We open tomorrow at 8 a.m.. Would you like to leave a message?"
    )


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("vocês estão abertos?", True),
        ("Oi, bom dia, a loja já abriu?", True),
        ("a Farmácia Vida está aberta agora?", True),  # the company's own name
        ("is the Pharmacy open now?", True),
        ("que horas vocês estão abertos?", False),  # the hours: the documents answer
        ("quando vocês estão abertos?", False),
        ("a internet está funcionando agora?", False),  # about something else
        ("a agenda de dezembro já está aberta?", False),
        ("meu boleto ainda está aberto?", False),
    ],
)
def test_only_questions_about_being_open_now(text: str, now: bool) -> None:
    assert asks_if_open_now(text, ["Farmácia Vida", "Pharmacy"]) is now
