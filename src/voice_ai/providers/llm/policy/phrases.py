"""What the dialog policy says, per language (pt-BR default, English).

The questions it asks (a transfer offer, a confirmation, a choice of topics) are read back from the previous
assistant message on the next turn — the conversation history is the dialogue's only state — so each has a
``*_re`` that finds it, and their wording must keep matching it.
"""

from __future__ import annotations

PHRASES = {
    "pt": {
        "transfer": "Certo, vou transferir sua ligação para {department}. Um momento, por favor.",
        "operator": "Certo, vou transferir sua ligação para um atendente. Um momento, por favor.",
        "goodbye": "Eu que agradeço a ligação. Até logo!",
        "unknown": "Desculpe, não tenho essa informação. Posso transferir você para {department}?",
        "offer": "Posso transferir você para {department}?",
        "unknown_operator": "Desculpe, não tenho essa informação. Quer que eu transfira para um atendente?",
        "empty": "Desculpe, não entendi. Pode repetir, por favor?",
        "declined": "Tudo bem. Posso ajudar com mais alguma coisa?",
        "offer_re": r"[Pp]osso transferir você para (.+?)\?",
        "offer_operator_re": r"transfira para um atendente\?",
        # recovery: confirm the likely meaning, or offer the closest topics
        "confirm": "Só para confirmar: você quer saber {topic}?",
        "confirm_re": r"[Vv]ocê quer saber (.+?)\?\s*$",
        "topics": "Desculpe, não entendi bem. Posso ajudar com {topics}. Qual deles?",
        "topics_declined": "Tudo bem. Posso ajudar com {topics}. Qual deles? Ou, se preferir, peça um atendente.",
        "topics_re": r"[Pp]osso ajudar com (.+?)\. Qual deles\?",
        "declined_confirm": "Tudo bem. Quer que eu transfira para um atendente?",
        "or": "ou",
    },
    "en": {
        "transfer": "Sure, I'll transfer your call to {department}. One moment, please.",
        "operator": "Sure, I'll transfer your call to an attendant. One moment, please.",
        "goodbye": "Thank you for calling. Goodbye!",
        "unknown": "Sorry, I don't have that information. Can I transfer you to {department}?",
        "offer": "Can I transfer you to {department}?",
        "unknown_operator": "Sorry, I don't have that information. Would you like me to transfer you to an attendant?",
        "empty": "Sorry, I didn't catch that. Could you repeat, please?",
        "declined": "All right. Can I help with anything else?",
        "offer_re": r"[Cc]an I transfer you to (.+?)\?",
        "offer_operator_re": r"transfer you to an attendant\?",
        "confirm": "Just to confirm: do you want to know {topic}?",
        "confirm_re": r"[Dd]o you want to know (.+?)\?\s*$",
        "topics": "Sorry, I didn't quite get that. I can help with {topics}. Which one?",
        "topics_declined": "All right. I can help with {topics}. Which one? Or, if you prefer, ask for an attendant.",
        "topics_re": r"I can help with (.+?)\. Which one\?",
        "declined_confirm": "All right. Would you like me to transfer you to an attendant?",
        "or": "or",
    },
}
