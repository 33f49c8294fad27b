"""Text out of the documents tenants upload: PDF (pypdf), DOCX (python-docx), HTML (Beautiful Soup),
Markdown and plain text. Headings are kept as Markdown ``#`` lines so chunking can follow the structure."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = 2_000_000
MAX_PARAGRAPHS = 50_000  # a 1,000-page report has ~20,000; a hostile 67 KB DOCX had 300,000
KINDS = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "text/markdown": "md",
    "text/plain": "txt",
}
EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
}
MIME_OF = {v: k for k, v in KINDS.items()}


class DocumentError(ValueError):
    """The upload cannot be used; ``status`` is the HTTP status that fits (413, 415 or 422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[DocumentError], tuple[str, int]]:  # raised in the worker process
        return type(self), (str(self), self.status)


def _too_long(max_chars: int) -> DocumentError:
    return DocumentError(f"the document has more than {max_chars:,} characters of text; split it", 413)


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str
    pages: int


def detect_kind(data: bytes, filename: str, declared: str | None = None) -> str:
    """The document kind from its content first (magic bytes), then its name and declared type."""
    if data[:5] == b"%PDF-":
        return "pdf"
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
        raise DocumentError("a ZIP file that is not a Word document (.docx)", 415)
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = EXTENSIONS.get(suffix) or KINDS.get((declared or "").split(";")[0].strip().lower())
    if kind in ("pdf", "docx"):
        raise DocumentError(f"the file is named as {kind.upper()} but its content is not", 422)
    if kind is None:
        head = data[:512].lstrip().lower()
        kind = "html" if head.startswith((b"<!doctype html", b"<html")) else None
    if kind is None:
        raise DocumentError(
            f"unsupported document type {filename!r}: upload PDF, DOCX, HTML, Markdown (.md) or text (.txt)", 415
        )
    decode_text(data[:TEXT_SAMPLE_BYTES], partial=len(data) > TEXT_SAMPLE_BYTES)  # text that is not text: 422 now
    return kind


def extract(
    data: bytes,
    filename: str,
    declared: str | None = None,
    *,
    max_chars: int = MAX_TEXT_CHARS,
    max_paragraphs: int = MAX_PARAGRAPHS,
) -> Extracted:
    """The document's text. CPU-heavy for large files: the service calls it in the indexing worker process
    (``rag.worker``), never on the event loop. Past ``max_chars`` characters or ``max_paragraphs`` paragraphs
    (DOCX) it stops early with a DocumentError."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"document larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", 413)
    if not data.strip():
        raise DocumentError("the document is empty")
    kind = detect_kind(data, filename, declared)
    if kind == "pdf":
        text, pages = _pdf(data, max_chars)
    elif kind == "docx":
        text, pages = _docx(data, max_chars, max_paragraphs)
    else:
        text, pages = (_html if kind == "html" else _plain)(data)
    text = _tidy(text)
    if not text:
        hint = " (a scanned PDF has no text layer: run OCR first)" if kind == "pdf" else ""
        raise DocumentError(f"no text could be extracted from this {kind.upper()}{hint}")
    if len(text) > max_chars:
        raise _too_long(max_chars)
    return Extracted(text, kind, pages)


TEXT_SAMPLE_BYTES = 64 * 1024
_WHITESPACE_CONTROLS = frozenset("\t\n\r\f\v")
NOT_TEXT = "the file is not text ({why}): upload PDF, DOCX, HTML, Markdown or plain text saved as UTF-8 or Windows-1252"


def _not_text_reason(text: str) -> str | None:
    """Why decoded ``text`` does not look like a person's text, or None. Control characters (other than
    whitespace), unassigned or private code points and replacement characters are what binary data decoded as
    text looks like; real text in any script is mostly letters, digits and spaces."""
    if not text:
        return None
    bad = letters = 0
    for char in text:
        category = unicodedata.category(char)
        if (
            char == "\ufffd"
            or category in ("Co", "Cn", "Cs")
            or (category == "Cc" and char not in _WHITESPACE_CONTROLS)
        ):
            bad += 1
        elif category[0] in "LNZ" or char in _WHITESPACE_CONTROLS:
            letters += 1
    if bad > max(2, len(text) // 200):  # more than 0.5 %
        return f"{100 * bad / len(text):.0f}% control or invalid characters"
    if letters < len(text) * 0.5:
        return f"only {100 * letters / len(text):.0f}% letters, digits and spaces"
    return None


def _unlikely_windows_text(text: str) -> str | None:
    """Windows-1252 decodes almost any bytes, so it is only a guess: Portuguese or English saved that way is
    mostly ASCII with some accented letters, and has spaces."""
    if len(text) < 200:
        return None
    high = sum(1 for char in text if ord(char) > 0x7F)
    if high > len(text) * 0.3:
        return f"{100 * high / len(text):.0f}% non-ASCII characters for Windows-1252 text"
    if sum(1 for char in text if char.isspace()) < len(text) * 0.02:
        return "no spaces between words"
    return None


def decode_text(data: bytes, *, partial: bool = False) -> str:
    """Bytes of a text file to ``str``: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (what
    Brazilian Windows tools often save) — each strictly, and only when the result looks like text. ``partial``:
    ``data`` is a prefix of the file (an upload's first bytes), possibly cut inside a character.
    Raises DocumentError (422) for anything else, e.g. random bytes named ``.txt``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in data:
        raise DocumentError(NOT_TEXT.format(why="it contains NUL bytes"))
    else:
        candidates = ("utf-8-sig", "cp1252")
    reason = "it is not valid UTF-8 nor Windows-1252"
    for encoding in candidates:
        chunk = data
        for _ in range(4 if partial else 1):  # a prefix may end inside a multi-byte character
            try:
                text = chunk.decode(encoding)
                break
            except UnicodeDecodeError as exc:
                if not partial or exc.start < len(chunk) - 4:
                    text = ""
                    break
                chunk = chunk[:-1]
        else:
            text = ""
        if not text:
            continue
        why = _not_text_reason(text) or (_unlikely_windows_text(text) if encoding == "cp1252" else None)
        if why is None:
            return text
        reason = why
    raise DocumentError(NOT_TEXT.format(why=reason))


def _plain(data: bytes) -> tuple[str, int]:
    return decode_text(data), 1


def _pdf(data: bytes, max_chars: int = MAX_TEXT_CHARS) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is password-protected; upload an unprotected copy")
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1])
            if total > max_chars * 2:  # tidying shrinks whitespace; far past the limit is past it
                raise _too_long(max_chars)
    except (PdfReadError, ValueError, KeyError) as exc:
        if isinstance(exc, DocumentError):
            raise
        raise DocumentError(f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    return "\n\n".join(pages), len(pages)


def _docx(data: bytes, max_chars: int = MAX_TEXT_CHARS, max_paragraphs: int = MAX_PARAGRAPHS) -> tuple[str, int]:
    import docx
    from docx.oxml.ns import qn

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for broken packages
        raise DocumentError(f"corrupt or unreadable DOCX ({type(exc).__name__})") from None
    count = sum(1 for _ in document.element.body.iter(qn("w:p")))  # tables' paragraphs included
    if count > max_paragraphs:
        raise DocumentError(
            f"the DOCX has {count:,} paragraphs, more than the {max_paragraphs:,} a document may have; split it", 413
        )
    # Style names looked up once: python-docx's paragraph.style searches every style, per paragraph.
    style_names = {s.style_id: s.name or "" for s in document.styles if s.style_id}
    lines: list[str] = []
    total = 0
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        total += len(text)
        if total > max_chars:
            raise _too_long(max_chars)
        if not text:
            lines.append("")
            continue
        style = style_names.get(paragraph._p.style or "", "").lower()
        level = (
            next((int(c) for c in style if c.isdigit()), 1) if style.startswith(("heading", "título", "titulo")) else 0
        )
        lines.append(f"{'#' * min(level, 6)} {text}" if level else text)
        if level:
            lines.append("")
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))
        lines.append("")
    return "\n".join(lines), 1


def _html(data: bytes) -> tuple[str, int]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header", "form", "svg"]):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for item in soup.find_all("li"):
        item.replace_with(f"\n- {item.get_text(' ', strip=True)}\n")
    for block in soup.find_all(["p", "div", "tr", "br", "section", "article"]):
        block.insert_after("\n\n")
    return soup.get_text(), 1


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
