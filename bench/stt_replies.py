"""Short replies to the secretary's question, and first requests after the greeting: Whisper's word error rate
with the tenant's terms as the prompt, and with the question the caller answers at the prompt's end.

    .venv/bin/python bench/stt_replies.py

espeak-ng pt-BR at 150 wpm, 8 kHz (voices pt-br and pt-br+f2, bench/voices.py), the demo company's lexicon.
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, "bench")
from voices import CONDITIONS, render  # type: ignore
from wer import wer  # type: ignore

from voice_ai.providers.audio import Audio
from voice_ai.providers.registry import provider_class
from voice_ai.providers.stt.context import asked_before
from voice_ai.understanding.lexicon import Lexicon

base = "src/voice_ai/demo/data/contabilidade-exata/"
docs = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob(base + "docs/*.md"))]
qj = json.loads(Path(base + "questions.json").read_text(encoding="utf-8"))
rules = qj["transfer_rules"]
lex = Lexicon.build(
    names=[qj["company"]] + [r["name"] for r in rules], keywords=[r["description"] for r in rules], documents=docs
)
stt = provider_class("stt", "whisper").from_config({})
dec = stt.settings.decoding("turn")
conds = {c.name: c for c in CONDITIONS}
greet = "Olá, você ligou para a Contabilidade Exata Ltda. Como posso ajudar?"
confirm = "Só para confirmar: você quer saber sobre formas de pagamento?"
tot: dict[tuple[str, str], list[int]] = {}
items: list[tuple[str, Any]] = [(c["q"], None) for c in qj["cases"]] + [
    (s, confirm)
    for s in ["sim", "não", "sim, isso mesmo", "não, obrigado", "isso", "pode ser", "o segundo", "sim, por favor"]
]
for said, asked in items:
    for cn in ["espeak-8k", "voice-f2"]:
        audio = Audio.from_wav(render(said, conds[cn]))
        for label, ctx in (("none", None), ("asked", asked or greet)):
            with asked_before(ctx):
                t = stt.run(audio, "pt-BR", list(lex.terms), dec, lex)
            e, n = wer(said, t.text)
            k = ("reply" if asked else "question", label)
            a = tot.setdefault(k, [0, 0])
            a[0] += e
            a[1] += n
            print(f"{label:6} {cn:10} {said[:40]!r:42} -> {t.text!r}")
for k, (e, n) in sorted(tot.items()):
    print(k, f"WER {e / n:.1%}")
