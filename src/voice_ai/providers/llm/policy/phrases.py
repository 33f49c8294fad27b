"""What the dialog policy says, per language (pt-BR default, English)."""

from __future__ import annotations

PHRASES = {
    "pt": {
        "transfer": "Certo, vou transferir sua ligação para {department}. Um momento, por favor.",
        "operator": "Certo, vou transferir sua ligação para um atendente. Um momento, por favor.",
        "goodbye": "Eu que agradeço a ligação. Até logo!",
        "unknown": "Desculpe, não tenho essa informação. Posso transferir você para {department}?",
        "unknown_operator": "Desculpe, não tenho essa informação. Quer que eu transfira para um atendente?",
        "empty": "Desculpe, não entendi. Pode repetir, por favor?",
        "declined": "Tudo bem. Posso ajudar com mais alguma coisa?",
        "offer_re": r"[Pp]osso transferir você para (.+?)\?",
        "offer_operator_re": r"transfira para um atendente\?",
    },
    "en": {
        "transfer": "Sure, I'll transfer your call to {department}. One moment, please.",
        "operator": "Sure, I'll transfer your call to an attendant. One moment, please.",
        "goodbye": "Thank you for calling. Goodbye!",
        "unknown": "Sorry, I don't have that information. Can I transfer you to {department}?",
        "unknown_operator": "Sorry, I don't have that information. Would you like me to transfer you to an attendant?",
        "empty": "Sorry, I didn't catch that. Could you repeat, please?",
        "declined": "All right. Can I help with anything else?",
        "offer_re": r"[Cc]an I transfer you to (.+?)\?",
        "offer_operator_re": r"transfer you to an attendant\?",
    },
}
