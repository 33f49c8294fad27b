"""A reply cut into sentences as it streams, so each can be spoken as soon as it exists (pt-BR first, English).

The rule (what the engine and the TTS providers' ``synthesize_stream`` use):

- A sentence ends at ``.``, ``!``, ``?`` or ``…`` (repeated, and closing quotes or brackets, included) **followed by
  white space and then a character that is not a lower-case letter** — so while streaming, a cut waits until the
  next word has begun: "Sr." at the end of what has arrived is not cut yet.
- A ``.`` after an abbreviation never ends a sentence: titles and common short forms ("Sr.", "Sra.", "Dr.",
  "Dra.", "Prof.", "Av.", "Ltda.", "Mr.", "e.g." …), a single letter (an initial: "J. Silva") and a word with a dot
  inside ("p.ex."). Numbers need no rule: "R$ 1.500,00", "10h30" or "3.5" have no white space after their dots.
- The **first** sentence of a reply may be cut early so the first audio leaves sooner: when no sentence end has come
  yet and the text has reached ``FIRST_CLAUSE_MIN`` (60) characters, it is cut after the first ``,``, ``;`` or ``:``
  followed by white space at or beyond that point (a clause of 60–80 characters is about 4–5 s of speech, enough
  for the TTS of the rest to catch up). A comma inside a number ("1.500,00") is never followed by a space.
- At the end of the reply, whatever is left is the last sentence.
"""

from __future__ import annotations

import re

FIRST_CLAUSE_MIN = 60
ABBREVIATIONS = frozenset(
    """sr sra srs sras srta dr dra drs dras prof profa profs eng enga adv arq av pça pca tel cel fax ltda cia
    dept depto nº n no num pág pag ex exmo exma ilmo ilma sto sta mr mrs ms jr st vs approx dept est inc co
    ave blvd""".split()
)
_END = re.compile(r"[.!?…]+[\"'»”’)\]]*(\s+)(?=\S)")
_CLAUSE = re.compile(r"[,;:](\s+)(?=\S)")
_LAST_WORD = re.compile(r"(\S+)$")


def _abbreviation(before: str) -> bool:
    found = _LAST_WORD.search(before)
    if found is None:
        return False
    word = found.group(1).lstrip("([\"'«“‘").lower()
    return (len(word) == 1 and word.isalpha()) or "." in word or word in ABBREVIATIONS


class SentenceCutter:
    """Feed it the reply so far (:meth:`update`), take the sentences complete in it; :meth:`flush` at the end."""

    def __init__(self, *, first_clause_min: int | None = FIRST_CLAUSE_MIN) -> None:
        self.text = ""
        self.done = 0  # characters of ``text`` already given out
        self.count = 0  # sentences given out
        self.first_clause_min = first_clause_min

    def update(self, text: str) -> list[str]:
        """``text``: the whole reply so far (each call extends the previous one)."""
        if len(text) >= len(self.text):
            self.text = text
        out: list[str] = []
        while (cut := self._next_cut()) is not None:
            end, resume = cut
            self._give(self.text[self.done : end], out)
            self.done = resume
        return out

    def flush(self) -> list[str]:
        out: list[str] = []
        self._give(self.text[self.done :], out)
        self.done = len(self.text)
        return out

    def _give(self, piece: str, out: list[str]) -> None:
        if piece.strip():
            out.append(piece.strip())
            self.count += 1

    def _next_cut(self) -> tuple[int, int] | None:
        """(end of the next sentence, where the one after it starts), or None when none is complete yet."""
        pending = self.text[self.done :]
        cut: tuple[int, int] | None = None
        for found in _END.finditer(pending):
            if pending[found.end()].islower():
                continue
            punctuation = found.group(0).strip()
            single_dot = punctuation.rstrip("\"'»”’)]") == "."
            if single_dot and _abbreviation(pending[: found.start()]):
                continue
            cut = (found.start(1), found.end())
            break
        if self.count == 0 and self.first_clause_min is not None:
            limit = cut[0] if cut is not None else len(pending)
            clause = _CLAUSE.search(pending, self.first_clause_min - 1)
            if clause is not None and clause.start() < limit:
                cut = (clause.start(1), clause.end())
        return None if cut is None else (self.done + cut[0], self.done + cut[1])


def split_sentences(text: str) -> list[str]:
    """A whole text cut by the same rule."""
    cutter = SentenceCutter()
    return cutter.update(text) + cutter.flush()
