"""Chunking by structure: Markdown headings open sections, paragraphs are packed into chunks of at most
``max_chars``, long paragraphs are cut at sentence ends, and consecutive chunks of a section overlap by
their last sentence(s) so a fact on a boundary is whole in at least one chunk."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading: str  # "Title > Section": the path of headings above the text
    content: str

    @property
    def embedding_text(self) -> str:
        return f"{self.heading}\n{self.content}" if self.heading else self.content


def _sections(text: str) -> list[tuple[str, list[str]]]:
    path: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    current: list[str] = []
    for line in text.split("\n"):
        found = HEADING.match(line)
        if found:
            if current:
                sections.append((" > ".join(path), current))
                current = []
            level = len(found.group(1))
            path = [*path[: level - 1], found.group(2).strip()]
            continue
        current.append(line)
    if current:
        sections.append((" > ".join(path), current))
    return sections


def _paragraphs(lines: list[str]) -> list[str]:
    paragraphs, block = [], []
    for line in lines:
        if line.strip():
            block.append(line.strip())
        elif block:
            paragraphs.append(" ".join(block) if not block[0].startswith(("-", "*", "|")) else "\n".join(block))
            block = []
    if block:
        paragraphs.append(" ".join(block) if not block[0].startswith(("-", "*", "|")) else "\n".join(block))
    return paragraphs


def _pieces(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    out, piece = [], ""
    for sentence in SENTENCE_END.split(paragraph):
        while len(sentence) > max_chars:  # one enormous "sentence": cut at a space
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if piece and len(piece) + 1 + len(sentence) > max_chars:
            out.append(piece)
            piece = sentence
        else:
            piece = f"{piece} {sentence}".strip()
    if piece:
        out.append(piece)
    return out


def _tail(text: str, overlap: int) -> str:
    """The last whole sentences of ``text`` within ``overlap`` characters."""
    sentences = SENTENCE_END.split(text)
    tail = ""
    for sentence in reversed(sentences):
        if len(tail) + len(sentence) + 1 > overlap:
            break
        tail = f"{sentence} {tail}".strip()
    return tail


def chunk_text(text: str, *, max_chars: int = 900, overlap: int = 160) -> list[Chunk]:
    chunks: list[Chunk] = []
    for heading, lines in _sections(text):
        # long paragraphs are cut leaving room for the overlap carried into the next chunk
        pieces = [p for paragraph in _paragraphs(lines) for p in _pieces(paragraph, max_chars - overlap)]
        current = ""
        for piece in pieces:
            if current and len(current) + 2 + len(piece) > max_chars:
                chunks.append(Chunk(len(chunks), heading, current))
                tail = _tail(current, overlap)
                current = f"{tail}\n\n{piece}" if tail and len(tail) + 2 + len(piece) <= max_chars else piece
            else:
                current = f"{current}\n\n{piece}" if current else piece
        if current:
            chunks.append(Chunk(len(chunks), heading, current))
    return chunks
