"""The wiring of understanding into a turn: ``dialog_context`` repairs the transcript with the tenant's lexicon before
retrieval (real embedded PostgreSQL), builds ``DialogContext.heard`` for voice turns only, and a real LLM's prompt
tells it the words came through speech recognition and to confirm rather than guess."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, cast

from voice_ai.conversation.decide import dialog_context, understand
from voice_ai.conversation.listen import Listened
from voice_ai.conversation.prepare import TurnContext
from voice_ai.db.models import Secretary
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.providers import deadline
from voice_ai.providers.llm.prompting import system_prompt
from voice_ai.providers.types import DialogContext, Heard
from voice_ai.rag.ingest import ingest_document
from voice_ai.runtime import Runtime
from voice_ai.understanding.lexicon import Lexicon

DOCS = """# Loja Exemplo
## Pix
Transferências instantâneas pelo Pix, com a chave CNPJ 12.345.678/0001-90.
## Entregas
Entregamos em todo o bairro em até duas horas.
"""


def _turn(lexicon: Lexicon) -> TurnContext:
    none = cast(Any, None)
    return TurnContext(
        uuid.uuid4(), 1, Secretary(language="pt-BR", company_name="Loja Exemplo"), [], [], None, None,
        none, [], none, none, None, {}, lexicon,
    )  # fmt: skip


LEXICON = Lexicon.build(names=["Loja Exemplo"], documents=[DOCS])


def test_voice_turns_carry_heard_and_typed_turns_do_not() -> None:
    listened = Listened(
        "Vocês trabalham com pegs?", "whisper", 900.0, 0.41, ("Vocês trabalham com Pix?", "trabalham peg")
    )
    voice = understand(_turn(LEXICON), listened.text, listened)
    assert voice.query == "Vocês trabalham com Pix?"
    assert voice.heard == Heard(0.41, ("Vocês trabalham com Pix?", "trabalham peg"), "Vocês trabalham com Pix?")
    typed = understand(_turn(LEXICON), "Vocês trabalham com pegs?", None)
    assert typed.heard is None and typed.query == "Vocês trabalham com Pix?"  # a typo is repaired too


def test_alternatives_widen_the_query_with_tenant_words() -> None:
    listened = Listened("Como faço as entregaz?", "whisper", 900.0, 0.5, ("Como faço o Pix das entregas?",))
    understood = understand(_turn(LEXICON), listened.text, listened)
    assert "Pix" in understood.expansions


async def test_dialog_context_retrieves_with_the_repaired_words(runtime: Runtime, new_domain: Any) -> None:
    domain = uuid.UUID(await new_domain())
    data = DOCS.encode()
    async with runtime.sessionmaker() as session, session.begin():
        row = await DocumentRepository(session).create(
            domain,
            {
                "name": "loja.md",
                "mime_type": "text/markdown",
                "size_bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content": data,
                "language": "pt-BR",
            },
        )
    assert (await ingest_document(runtime.sessionmaker, domain, row.voice_document_uuid, embedder=None)) is not None
    listened = Listened("Vocês trabalham com pegs?", "whisper", 900.0, 0.41, ())
    due = deadline.now() + 30
    timings: dict[str, float] = {}
    plain = await dialog_context(runtime.sessionmaker, domain, _turn(Lexicon()), listened.text, due, timings)
    context = await dialog_context(
        runtime.sessionmaker, domain, _turn(LEXICON), listened.text, due, timings, listened=listened
    )
    assert plain.passages == [] and plain.heard is None  # the garbled words alone find nothing
    assert context.passages and "chave CNPJ" in context.passages[0].content
    assert context.heard is not None and context.heard.repaired == "Vocês trabalham com Pix?"
    assert "retrieve_ms" in timings


def test_the_prompt_of_a_voice_turn_says_how_the_words_came() -> None:
    heard = Heard(0.41, ("Vocês trabalham com Pix?",), "Vocês trabalham com Pix?")
    voice = system_prompt(DialogContext(company_name="Loja Exemplo", heard=heard), None) or ""
    assert "speech-recognition transcript" in voice
    assert '"Vocês trabalham com Pix?"' in voice and "confidence: low (0.41)" in voice
    assert "confirm the likely meaning" in voice and "Never invent a fact" in voice
    typed = system_prompt(DialogContext(company_name="Loja Exemplo"), None) or ""
    assert "speech-recognition" not in typed
