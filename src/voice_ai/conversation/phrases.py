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
        # --- opening hours (issue 13, voice_ai.schedules): closed now, and when it opens ---
        "closed_department": "O setor {department} não está atendendo agora.",
        "department_opens": "Ele abre {when}.",
        "closed_now": "No momento estamos fechados.",
        "we_open": "Abrimos {when}.",
        "operator_closed": "No momento não há atendentes disponíveis.",
        "open_now": "Sim, estamos abertos agora. Posso ajudar em mais alguma coisa?",
        "department_open_now": "Sim, o setor {department} está atendendo agora.",
        # -- message taking (issue 13, conversation/message_taking.py) -----------------------------------------
        "message_ask_name": "Claro, vou anotar o seu recado. Qual é o seu nome?",
        "message_ask_name_again": "Desculpe, não entendi o seu nome. Pode repetir, por favor?",
        "message_confirm_number": "Obrigada, {name}. Podemos retornar a ligação para o número {number}?",
        "message_ask_number": "Qual é o melhor número para retornarmos a ligação?",
        "message_ask_number_again": "Desculpe, não entendi o número. Pode dizer de novo, dígito por dígito?",
        "message_ask_body": "Qual é o recado?",
        "message_readback": "Anotei: recado de {name}, retorno no número {number}: {body}. Está correto?",
        "message_readback_no_number": "Anotei: recado de {name}: {body}. Está correto?",
        "message_retake": "Tudo bem, vamos corrigir. Qual é o recado?",
        "message_fix_name": "Desculpe. Qual é o seu nome, por favor?",
        "message_taken": "Pronto, o seu recado foi anotado e será repassado. Posso ajudar em mais alguma coisa?",
        "message_cancelled": "Tudo bem, o recado foi cancelado. Posso ajudar em mais alguma coisa?",
        "message_declined": "Tudo bem. Posso ajudar em mais alguma coisa?",
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
        # --- opening hours (issue 13, voice_ai.schedules): closed now, and when it opens ---
        "closed_department": "{department} is closed right now.",
        "department_opens": "It opens {when}.",
        "closed_now": "We are closed right now.",
        "we_open": "We open {when}.",
        "operator_closed": "No one is available to take your call right now.",
        "open_now": "Yes, we are open now. Can I help with anything else?",
        "department_open_now": "Yes, {department} is open now.",
        # -- message taking (issue 13, conversation/message_taking.py) -----------------------------------------
        "message_ask_name": "Of course, I'll take a message. What is your name?",
        "message_ask_name_again": "Sorry, I didn't catch your name. Could you repeat it, please?",
        "message_confirm_number": "Thank you, {name}. May we call you back at {number}?",
        "message_ask_number": "What is the best number to call you back?",
        "message_ask_number_again": "Sorry, I didn't catch the number. Could you say it again, digit by digit?",
        "message_ask_body": "What is your message?",
        "message_readback": "I have: a message from {name}, call back at {number}: {body}. Is that right?",
        "message_readback_no_number": "I have: a message from {name}: {body}. Is that right?",
        "message_retake": "All right, let's fix it. What is your message?",
        "message_fix_name": "Sorry. What is your name, please?",
        "message_taken": "Done, your message has been taken and will be passed on. Can I help you with anything else?",
        "message_cancelled": "All right, the message was cancelled. Can I help you with anything else?",
        "message_declined": "All right. Can I help you with anything else?",
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
