"""What a caller's words ask for, independent of the tenant: goodbyes, a person, a transfer verb, a request,
a question, yes and no (accent-folded text, pt-BR and English)."""

from __future__ import annotations

import re

GOODBYE = re.compile(
    r"\b(tchau|xau|ate logo|ate mais|ate a proxima|adeus|so isso|era isso|era so|e so isso|nada mais|mais nada|"
    r"pode desligar|bye|goodbye|that'?s all|nothing else|hang up)\b"
)
HUMAN = re.compile(
    r"\b(atendente|pessoa|humano|alguem|operador|operadora|recepcao|agent|human|person|operator|someone)\b"
)
TRANSFER_VERB = re.compile(
    r"\b(falar com|fala com|transfer\w*|passar para|passa para|me passa|me passe|me coloca|ligar para|"
    r"encaminh\w*|conversar com|talk to|speak to|speak with|connect me|put me through)\b"
)
REQUEST = re.compile(
    r"\b(quero|queria|gostaria|preciso|precisava|desejo|solicito|i want|i need|i'd like|i would like)\b"
)
QUESTION_START = re.compile(
    r"^\s*(qual|quais|quanto|quanta|quantos|quantas|quando|onde|como|que|quem|por que|"
    r"what|when|where|how|which|who|why)\b"
)
QUESTION = re.compile(
    r"(\?|\b(qual|quais|quanto|quanta|quantos|quantas|quando|onde|como|que horas|quem|posso|podem|tem|tenho que|"
    r"aceitam|aceita|voces|abre|abrem|funciona|what|when|where|how|which|who|do you|can i|is there)\b)"
)
YES = re.compile(r"^\s*(sim|pode|pode sim|isso|claro|por favor|quero|ok|yes|sure|please|yeah)\b")
NO = re.compile(r"^\s*(nao|no|nope)\b")
