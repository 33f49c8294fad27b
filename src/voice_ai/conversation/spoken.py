"""The spoken form of a reply, for speech synthesis only: "R$ 180,00" → "cento e oitenta reais", "8h" → "oito
horas", "(41) 3222-4500" read digit by digit in its groups, "CEP 80010-010" likewise, "Av." → "Avenida", and the
remaining numbers in words with the gender of the noun they count ("2 vezes" → "duas vezes").

Applied right before text-to-speech (:func:`voice_ai.conversation.speech.synthesize`): the reply stored in the
conversation and returned by the API keeps the documents' digits. pt-BR is the full rendering; English gets the
amounts, phone numbers and Markdown leftovers (English voices read digits well).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

_PT_DIGITS = "zero um dois três quatro cinco seis sete oito nove".split()
_EN_DIGITS = "zero one two three four five six seven eight nine".split()
_FEMININE = (
    r"horas?|vezes|vez|semanas?|pessoas?|parcelas?|unidades?|noites?|páginas?|vagas?|consultas?|sessões|"
    r"sessão|aulas?|declarações|declaração|empresas?|prestações|prestação"
)
_PT_ABBREVIATIONS = {
    r"\bAv\.": "Avenida",
    r"\bDr\.": "Doutor",
    r"\bDra\.": "Doutora",
    r"\bSr\.": "Senhor",
    r"\bSra\.": "Senhora",
    r"\bProf\.": "Professor",
    r"\bProfa\.": "Professora",
    r"\b[Nn][º°o]\.?\s*(?=\d)": "número ",
    r"\bLtda\.?": "limitada",
    r"\bCEP\b": "cep",
    r"\bCNPJ\b": "cê ene pê jota",
    r"\bCPF\b": "cê pê efe",
    r"\bkm\b": "quilômetros",
    r"\bmin\b\.?": "minutos",
    r"\betc\.": "etcétera",
    r"\bseg\.": "segunda",
    r"\bsáb\.": "sábado",
    r"\bdom\.": "domingo",
    r"%": " por cento",
    r"\s&\s": " e ",
}
_MARKDOWN = re.compile(r"\*\*|__|`|^\s*#+\s*|^\s*[-*•]\s+", re.MULTILINE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMAIL = re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b")
_PHONE = re.compile(
    r"(?:\+55\s*)?\(?\b(\d{2})\)?[\s.-]*(\d{4,5})[\s.-](\d{4})\b|\b(0[38]00)[\s.-]?(\d{3})[\s.-]?(\d{4})\b"
)
_CEP = re.compile(r"\b(\d{5})-(\d{3})\b")
_BRL = re.compile(r"R\$\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{2}))?")
_USD = re.compile(r"(?<![\w$])\$\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?")
_TIME = re.compile(r"\b(\d{1,2})(?:h|:)(\d{2})?(?:min)?\b(?!\w)|\b(\d{1,2})h\b")
_ORDINAL = re.compile(r"\b(\d{1,3})([ºª])")
_NUMBER = re.compile(r"(?<![\w,.])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?![\w])(\s+(?:" + _FEMININE + r")\b)?")


def _pt(number: int) -> str:
    return str(num2words(number, lang="pt_BR")).replace(",", "")


def _feminine(words: str) -> str:
    """The number's words counting a feminine noun: "dois" → "duas", "vinte e um" → "vinte e uma", "duzentos" →
    "duzentas" ("um milhão" stays: milhão is masculine)."""
    words = re.sub(r"\bum\b(?! mil[hb])", "uma", words)
    words = re.sub(r"\bdois\b(?! mil[hb])", "duas", words)
    return re.sub(r"\b(\w+ent)os\b", r"\1as", words)


def _digits(group: str, names: list[str]) -> str:
    return " ".join(names[int(d)] for d in group)


def _phone(found: re.Match[str], names: list[str]) -> str:
    groups = [g for g in found.groups() if g]
    return ", ".join(_digits(g, names) for g in groups)


def _pt_money(found: re.Match[str]) -> str:
    whole = int(found.group(1).replace(".", ""))
    cents = int(found.group(2) or 0)
    said = f"{_pt(whole)} {'real' if whole == 1 else 'reais'}" if whole or not cents else ""
    if cents:
        said = f"{said} e " if said else ""
        said += f"{_pt(cents)} {'centavo' if cents == 1 else 'centavos'}"
    return said


def _pt_time(found: re.Match[str]) -> str:
    hour = int(found.group(1) or found.group(3))
    minutes = int(found.group(2) or 0) if found.group(1) else 0
    if hour > 24 or minutes > 59:
        return found.group(0)
    said = _feminine(_pt(hour))
    if minutes:
        return f"{said} e {_pt(minutes)}"
    return f"{said} {'hora' if hour == 1 else 'horas'}"


def _pt_number(found: re.Match[str]) -> str:
    whole = int(found.group(1).replace(".", ""))
    noun = found.group(3) or ""
    said = _pt(whole)
    if found.group(2):
        said = f"{said} vírgula {_pt(int(found.group(2)))}"
    elif noun:
        said = _feminine(said)
    return f"{said}{noun}"


def _pt_ordinal(found: re.Match[str]) -> str:
    said = str(num2words(int(found.group(1)), lang="pt_BR", to="ordinal")).replace(",", "")
    return re.sub(r"o\b", "a", said) if found.group(2) == "ª" else said


def _email(found: re.Match[str], at: str, dot: str) -> str:
    user, domain = found.group(1), found.group(2)
    return f"{user.replace('.', f' {dot} ')} {at} {domain.replace('.', f' {dot} ')}"


def _common(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    return _MARKDOWN.sub("", text)


def spoken_pt(text: str) -> str:
    text = _common(text)
    for pattern, replacement in _PT_ABBREVIATIONS.items():
        text = re.sub(pattern, replacement, text)
    text = _EMAIL.sub(lambda m: _email(m, "arroba", "ponto"), text)
    text = _PHONE.sub(lambda m: _phone(m, _PT_DIGITS), text)
    text = _CEP.sub(lambda m: f"{_digits(m.group(1), _PT_DIGITS)}, {_digits(m.group(2), _PT_DIGITS)}", text)
    text = _BRL.sub(_pt_money, text)
    text = _TIME.sub(_pt_time, text)
    text = _ORDINAL.sub(_pt_ordinal, text)
    return _NUMBER.sub(_pt_number, text)


def spoken_en(text: str) -> str:
    text = _common(text)
    text = _EMAIL.sub(lambda m: _email(m, "at", "dot"), text)
    text = _PHONE.sub(lambda m: _phone(m, _EN_DIGITS), text)

    def dollars(found: re.Match[str]) -> str:
        whole = int(found.group(1).replace(",", ""))
        cents = int(found.group(2) or 0)
        said = f"{whole} {'dollar' if whole == 1 else 'dollars'}"
        return f"{said} and {cents} {'cent' if cents == 1 else 'cents'}" if cents else said

    return _USD.sub(dollars, text)


_RENDER: dict[str, Callable[[str], str]] = {"pt": spoken_pt, "en": spoken_en}


def spoken(text: str, language: str) -> str:
    """How ``text`` is said in ``language`` (a BCP-47 tag; pt and en have renderings, others are returned as they
    are). Never raises: a rendering that fails leaves the text as written."""
    render = _RENDER.get(language.lower()[:2])
    if render is None or not text:
        return text
    try:
        return re.sub(r"\s{2,}", " ", render(text)).strip()
    except (ValueError, OverflowError, NotImplementedError):
        return text
