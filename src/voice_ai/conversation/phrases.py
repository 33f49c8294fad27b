"""Fixed phrases the secretary says, in pt-BR (default) and English."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "pt": {
        "greeting": "Olá! Você ligou para {company}. Como posso ajudar?",
        "farewell": "Obrigada pela ligação. Até logo!",
        "transfer": "Certo, vou transferir sua ligação para {department}. Um momento, por favor.",
        "operator": "Vou transferir você para um atendente. Um momento, por favor.",
        "not_understood": "Desculpe, não consegui entender. Pode repetir, por favor?",
        "max_turns": "Agradeço a ligação. Se precisar de mais alguma coisa, ligue novamente. Até logo!",
        "failure": "Desculpe, estou com dificuldades no momento. Vou transferir você para um atendente.",
        "failure_no_operator": "Desculpe, estou com dificuldades no momento. Por favor, ligue novamente mais tarde.",
        # the offer that opens message taking (issue 13): a reply that ends with it lets a "sim" start the capture
        "offer_message": "Quer deixar um recado?",
        # -- issue 13, transfers that come back (conversation/transfer_return.py) --------------------------------
        "transfer_no_answer": "O setor {department} não atendeu.",
        "transfer_busy": "O setor {department} está ocupado no momento.",
        "transfer_declined": "O setor {department} não pode atender agora.",
        "transfer_unreachable": "Não consegui transferir para o setor {department}.",
        "operator_no_answer": "Nenhum atendente pôde atender agora.",
        "transfer_other": "Posso transferir para outro setor, se preferir.",
        "announcement": "Ligação de {caller}. Assunto: {summary}. Para atender, tecle 1.",
        "announcement_no_subject": "Ligação de {caller}. Para atender, tecle 1.",
        "unknown_caller": "número não identificado",
    },
    "en": {
        "greeting": "Hello! You have reached {company}. How can I help you?",
        "farewell": "Thank you for calling. Goodbye!",
        "transfer": "Sure, I'll transfer your call to {department}. One moment, please.",
        "operator": "I'll transfer you to an attendant. One moment, please.",
        "not_understood": "Sorry, I didn't catch that. Could you repeat, please?",
        "max_turns": "Thank you for calling. If you need anything else, please call again. Goodbye!",
        "failure": "Sorry, I'm having trouble right now. I'll transfer you to an attendant.",
        "failure_no_operator": "Sorry, I'm having trouble right now. Please call again later.",
        "offer_message": "Would you like to leave a message?",
        # -- issue 13, transfers that come back (conversation/transfer_return.py) --------------------------------
        "transfer_no_answer": "{department} didn't answer.",
        "transfer_busy": "{department} is busy right now.",
        "transfer_declined": "{department} can't take your call right now.",
        "transfer_unreachable": "I couldn't transfer you to {department}.",
        "operator_no_answer": "No attendant could take your call right now.",
        "transfer_other": "I can transfer you to another department if you prefer.",
        "announcement": "Call from {caller}. Subject: {summary}. To take the call, press 1.",
        "announcement_no_subject": "Call from {caller}. To take the call, press 1.",
        "unknown_caller": "an unknown number",
    },
}


def phrase(language: str, key: str, **values: str) -> str:
    table = PHRASES["en" if language.lower().startswith("en") else "pt"]
    return table[key].format(**values)
