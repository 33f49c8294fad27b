"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

VOICE_AI = str(Path(sys.executable).parent / "voice-ai")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_AI_")}
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VOICE_AI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def wait_http(
    url: str, proc: subprocess.Popen[str], timeout: float = 120, *, ok_below: int = 300, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers with a status below ``ok_below``; fail at once if ``proc`` exits (with its
    output, from its pipe or its ``log`` file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout and not proc.stdout.closed else ""
            output += log.read_text(errors="replace") if log is not None and log.exists() else ""
            raise AssertionError(f"{proc.args[0]} exited early:\n{output}")
        try:
            if httpx.get(url, timeout=2).status_code < ok_below:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def fold(text: str) -> str:
    """Lower case without accents or punctuation: what speech comparisons look at."""
    import re
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", "".join(c for c in plain if not unicodedata.combining(c))).split())


def speech_similarity(said: str, heard: str) -> float:
    """0..1, how close a transcript is to what was said (characters, accent-folded). Whisper's int8 kernels
    differ between CPUs (Intel vs AMD): tests assert the flow, or a margin on this, never exact words."""
    import difflib

    return difflib.SequenceMatcher(None, fold(said), fold(heard)).ratio()


def words_heard(words: list[str], heard: str, *, cutoff: float = 0.75) -> float:
    """The share of ``words`` found in the transcript, each allowing a near miss ("fiscau" for "fiscal")."""
    import difflib

    got = fold(heard).split()
    found = sum(1 for word in words if difflib.get_close_matches(fold(word), got, n=1, cutoff=cutoff))
    return found / max(1, len(words))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_pdf(lines: list[str]) -> bytes:
    """A small valid PDF with one page of text (Helvetica, WinAnsi), built by hand for extraction tests."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(f"({esc(line)}) Tj T*" for line in lines) + " ET"
    content = stream.encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(blocks: list[tuple[str, str]]) -> bytes:
    """A DOCX from (style, text) pairs, e.g. ("Heading 1", "Preços"), ("Normal", "...")."""
    import io

    import docx

    document = docx.Document()
    for style, text in blocks:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style.split()[-1]))
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_hostile_docx(paragraphs: int = 300_000) -> bytes:
    """A valid DOCX whose body is ``paragraphs`` one-word paragraphs: ~70 KB zipped, ~10 MB of XML (the upload
    that held the event loop for five minutes)."""
    import io
    import re
    import zipfile

    base = make_docx([("Normal", "x")])
    body = "<w:p><w:r><w:t>palavra</w:t></w:r></w:p>" * paragraphs
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(rb"<w:body>.*?<w:sectPr", b"<w:body>" + body.encode() + b"<w:sectPr", data, flags=re.S)
            target.writestr(item, data)
    return out.getvalue()


@contextlib.contextmanager
def demo_service(database_url: str, data_dir: Path, secret_key: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``voice-ai demo seed`` then ``voice-ai serve`` on a free port, on an existing database; yields the base URL
    and the environment (for more CLI calls); stops the service on the way out."""
    env = cli_env(VOICE_AI_DATABASE_URL=database_url, VOICE_AI_DATA_DIR=str(data_dir), VOICE_AI_SECRET_KEY=secret_key)
    seeded = run_cli("demo", "seed", env=env, timeout=300)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "service.log"
    # a file, not a pipe: nobody reads a pipe while tests run, and a full one blocks the service's log writes
    with log.open("w") as output:
        proc = subprocess.Popen(
            [VOICE_AI, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/ready", proc, log=log)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)
