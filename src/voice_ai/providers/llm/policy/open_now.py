""" "Are you open now?" — answered by the dialog policy from the tenant's opening hours (issue 13, point 1), not from
the documents: only the schedule knows what is open at this moment (a holiday, a department with hours of its own).

Only a question about *now* is taken ("vocês estão abertos?", "o financeiro está atendendo agora?", "are you still
open?"); a question about the hours themselves ("que horas vocês abrem?", "what are your hours?") is the documents'
to answer, as before. Without a schedule (``context.opening`` is None) nothing is known about now, and nothing here
applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from voice_ai.conversation.phrases import phrase
from voice_ai.providers.llm.text import fold, tokens
from voice_ai.providers.types import DialogContext

_OPEN = r"(aberto|abertos|aberta|abertas|funcionando|atendendo|trabalhando)"
NOW_ASKED = re.compile(
    rf"\b(esta|estao|ta|tao|estara|estarao|continua|continuam|ainda)\s+(hoje\s+|agora\s+)?{_OPEN}\b"
    rf"|\b{_OPEN}\s+(agora|hoje|neste momento|nesse momento|ainda|ja)\b"
    r"|\bja (abriu|abriram|fechou|fecharam)\b"
    r"|\b(are|is)\s+(you|it|they|the \w+|\w+)\s+(still\s+)?open\b|\bopen (now|today|right now)\b|\bstill open\b"
)
ABOUT_HOURS = re.compile(r"\b(que horas|qual (o )?horario|quando|ate que horas|what time|when|what are your hours)\b")
# what may stand around the question when it is about the business being open ("a clínica ainda está aberta?");
# any other word makes it about something else ("a internet está funcionando?", "a agenda está aberta?")
_AROUND = frozenset(
    "o a os as e ai ali la aqui ainda agora hoje ja neste nesse momento esta estao ta tao estara estarao continua "
    "continuam aberto abertos aberta abertas funcionando atendendo trabalhando abriu abriram fechou fecharam voces "
    "vcs voce ce oi ola alo bom dia boa tarde noite por favor pra gente em de do da no na "
    "loja clinica consultorio escritorio empresa estabelecimento atendimento recepcao setor departamento unidade "
    "are is you it they the still open now today right hi hello we office store shop clinic company".split()
)


def asks_if_open_now(text: str, names: Iterable[str] = ()) -> bool:
    """The caller asks whether the company (or a department) is open at this moment; ``names``: the company's and
    the departments' names, which may be the subject."""
    folded = fold(text)
    if not NOW_ASKED.search(folded) or ABOUT_HOURS.search(folded):
        return False
    allowed = _AROUND | {w for name in names for w in tokens(name)}
    return all(word in allowed for word in re.findall(r"[a-z0-9]+", folded))


def open_now_reply(text: str, context: DialogContext, offer: str) -> str | None:
    """What is open now, in words (a department the caller named, else the company), with the offer of a message
    when it is closed, and ``offer`` (the policy's transfer offer, ``{department}`` in it: a "sim" next transfers)
    when the department named is open; None without opening hours."""
    opening = context.opening
    if opening is None:
        return None
    language = context.language
    folded = f" {fold(text)} "
    named = next((t.department for t in context.transfer_targets if f" {fold(t.department).strip()} " in folded), None)
    if named is not None:
        closed = {fold(name): when for name, when in opening.closed.items()}
        if fold(named) in closed:
            words = [phrase(language, "closed_department", department=named)]
            when = closed[fold(named)]
            if when:
                words.append(phrase(language, "department_opens", when=when))
            words.append(phrase(language, "offer_message"))
            return " ".join(words)
        return f"{phrase(language, 'department_open_now', department=named)} {offer.format(department=named)}"
    if opening.open:
        return phrase(language, "open_now")
    words = [phrase(language, "closed_now")]
    if opening.opens:
        words.append(phrase(language, "we_open", when=opening.opens))
    words.append(phrase(language, "offer_message"))
    return " ".join(words)
