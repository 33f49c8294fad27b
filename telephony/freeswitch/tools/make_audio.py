"""Regenerate the telephony audio committed in this folder with the project's offline TTS (espeak-ng):

* ``sounds/voice_ai/<lang>/*.wav`` — the local phrases the Lua plays when the service cannot speak
  (installed by ``voice-ai freeswitch install``; replace them with studio recordings at will: same names,
  8 kHz or 16 kHz mono WAV);
* ``spec/fixtures/*.wav`` — the caller's pt-BR utterances used by the end-to-end call tests, 8 kHz like a
  phone line. Each phrase has the speaking rate at which the offline Whisper model transcribes it well.

Run from the repository root: ``.venv/bin/python telephony/freeswitch/tools/make_audio.py``
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from voice_ai.providers.tts.espeak import EspeakTTS

HERE = Path(__file__).resolve().parent.parent

SOUNDS = {
    "pt-BR": {
        "greeting": "Olá! Como posso ajudar?",
        "transferring": "Um momento, vou transferir sua ligação.",
        "goodbye": "Obrigada pela ligação. Até logo!",
        "error_transfer": "Desculpe, estamos com uma dificuldade técnica. Vou transferir você para um atendente.",
        "error_goodbye": "Desculpe, estamos com uma dificuldade técnica. Por favor, ligue novamente em alguns minutos.",
    },
    "en-US": {
        "greeting": "Hello! How can I help you?",
        "transferring": "One moment, I will transfer your call.",
        "goodbye": "Thank you for calling. Goodbye!",
        "error_transfer": "Sorry, we are having a technical problem. I will transfer you to an attendant.",
        "error_goodbye": "Sorry, we are having a technical problem. Please call again in a few minutes.",
    },
}

FIXTURES = {  # name: (text, words per minute)
    "question_price": ("Quanto custa a mensalidade?", 130),
    "question_saturday": ("Vocês abrem no sábado?", 130),
    "transfer_financeiro": ("Eu quero falar com o departamento financeiro, por favor.", 150),
    "goodbye": ("Tchau, tchau.", 130),
    # issue 13: a caller who leaves a message (tests/test_real_freeswitch_messages.py)
    "leave_message": ("Eu quero deixar um recado, por favor.", 140),
    "caller_name": ("Meu nome é Ana Lima.", 130),
    "yes": ("Sim, pode ser.", 130),
    "message_body": ("A reunião de amanhã mudou para as quinze horas.", 140),
    "confirmed": ("Está correto.", 130),
}


async def main() -> None:
    for language, phrases in SOUNDS.items():
        tts = EspeakTTS.from_config({"rate_wpm": 150})
        folder = HERE / "sounds" / "voice_ai" / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in phrases.items():
            speech = await tts.synthesize(text, language=language, sample_rate=8000)
            (folder / f"{name}.wav").write_bytes(speech.audio.wav())
    folder = HERE / "spec" / "fixtures"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (text, rate) in FIXTURES.items():
        tts = EspeakTTS.from_config({"rate_wpm": rate})
        speech = await tts.synthesize(text, language="pt-BR", sample_rate=8000)
        (folder / f"{name}.wav").write_bytes(speech.audio.wav())
    (folder / "README.md").write_text(
        "Caller utterances for the call tests (8 kHz mono 16-bit WAV, espeak-ng pt-BR), made by "
        "`tools/make_audio.py`:\n\n" + "".join(f"- `{n}.wav`: “{t}” ({r} wpm)\n" for n, (t, r) in FIXTURES.items()),
        encoding="utf-8",
    )


if __name__ == "__main__":
    asyncio.run(main())
