"""A caller's sentence as telephone audio, in several conditions, deterministically (used by
``bench/understanding.py``).

Each :class:`Condition` changes one thing from the baseline (espeak-ng pt-BR default voice, 150 words per minute,
8 kHz 16-bit mono linear PCM), so that a loss can be traced to its cause:

- voice variants of espeak-ng (``pt-br+f2`` a female, ``pt-br+m3`` another male timbre) and speaking rates
  (130 and 180 wpm);
- a G.711 round trip (μ-law, A-law): what a PSTN/SIP trunk does to every call (8 bits a sample, ITU-T G.711
  segment tables, implemented here with numpy; ``audioop`` is deprecated and gone in Python 3.13);
- background noise at 20 and 10 dB SNR. The noise is **pink** (1/f power spectrum: the broadband rumble of a street
  or a car, the common case of a caller outside), generated from a fixed seed per sentence. ``babble-10db`` (other
  espeak-ng sentences mixed together, a noisy room) is available but not in the default matrix: espeak's babble is
  words Whisper may transcribe, which measures something else (a second speaker), and it doubles the run time.

The SNR is computed on the speech's *active* samples (a simplified ITU-T P.56 active speech level): the 20 ms frames
whose power is within 30 dB of the loudest frame's. The noise's power is its mean power over the whole clip (it is
stationary). The clip gets 300 ms of lead-in and 300 ms of tail (as a call flow's recording has) and the noise covers
all of it. Order: speech at 8 kHz → noise → codec (the noise is in the caller's room, the codec on the line).

Speech comes from the project's own espeak-ng provider engine (``voice_ai.providers.tts.espeak``: the
``libespeak-ng`` of the ``espeakng-loader`` wheel, pitch 50 as the provider's default) and is resampled to 8 kHz by
the project's resampler, as the provider does; each sentence is spoken in a fresh fork (see :func:`speak_many`), so
a clip is bit-exact the same on every run whatever else was rendered before it. Noise comes from a seed made of
the condition's name and the sentence (:func:`seed_of`).
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from voice_ai.providers.audio import Audio
from voice_ai.providers.tts.espeak import EspeakSettings, _Engine

RATE = 8000
PAD_S = 0.3
FRAME_S = 0.02
ACTIVE_RANGE_DB = 30.0

Codec = Literal["linear", "ulaw", "alaw"]
Noise = Literal["pink", "babble"]
Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Condition:
    """How a caller's sentence reaches the service. ``text`` is the typed baseline: no audio at all."""

    name: str
    description: str
    text: bool = False
    voice: str = "pt-br"
    rate_wpm: int = 150
    codec: Codec = "linear"
    noise: Noise | None = None
    snr_db: float | None = None


BASELINE = "espeak-8k"
CONDITIONS: tuple[Condition, ...] = (
    Condition("text", "typed text (no speech recognition)", text=True),
    Condition(BASELINE, "espeak-ng pt-BR default voice, 150 wpm, 8 kHz linear PCM (the baseline)"),
    Condition("voice-f2", "voice variant pt-br+f2 (female)", voice="pt-br+f2"),
    Condition("voice-m3", "voice variant pt-br+m3", voice="pt-br+m3"),
    Condition("rate-130", "slow talker, 130 wpm", rate_wpm=130),
    Condition("rate-180", "fast talker, 180 wpm", rate_wpm=180),
    Condition("ulaw", "G.711 μ-law round trip", codec="ulaw"),
    Condition("alaw", "G.711 A-law round trip", codec="alaw"),
    Condition("pink-20db", "pink noise at 20 dB SNR (active speech)", noise="pink", snr_db=20.0),
    Condition("pink-10db", "pink noise at 10 dB SNR (active speech)", noise="pink", snr_db=10.0),
    Condition("babble-10db", "espeak-ng babble (4 talkers) at 10 dB SNR", noise="babble", snr_db=10.0),
)
DEFAULT_MATRIX: tuple[str, ...] = tuple(c.name for c in CONDITIONS if c.name != "babble-10db")
QUICK: tuple[str, ...] = ("text", BASELINE)

# Babble talkers: fixed, company-neutral sentences, each by another voice variant
_BABBLE = (
    ("pt-br+m1", "Ontem choveu o dia inteiro e o ônibus atrasou mais de meia hora na avenida."),
    ("pt-br+f3", "Você viu o jogo de domingo? O segundo tempo foi muito melhor que o primeiro."),
    ("pt-br+m5", "A feira de sábado tinha banana, laranja e mandioca por um preço muito bom."),
    ("pt-br+f4", "Minha prima mudou para o interior e agora trabalha numa padaria perto da praça."),
)


def condition(name: str) -> Condition:
    for item in CONDITIONS:
        if item.name == name:
            return item
    raise KeyError(f"unknown condition {name!r}; known: {', '.join(c.name for c in CONDITIONS)}")


def seed_of(*parts: str) -> int:
    """A stable seed from strings (Python's ``hash`` is salted per process)."""
    return zlib.crc32("\x1f".join(parts).encode("utf-8"))


# --- G.711 (ITU-T) -----------------------------------------------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw_encode(samples: Int16Array) -> npt.NDArray[np.uint8]:
    """16-bit linear → G.711 μ-law bytes (the ITU segment encoding, as in the reference ``linear2ulaw``)."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    codes: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return codes


def ulaw_decode(codes: npt.NDArray[np.uint8]) -> Int16Array:
    u = ~codes.astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def alaw_encode(samples: Int16Array) -> npt.NDArray[np.uint8]:
    """16-bit linear → G.711 A-law bytes (13-bit segments, even bits inverted: the reference ``linear2alaw``)."""
    x = samples.astype(np.int32) >> 3
    mask = np.where(x >= 0, 0xD5, 0x55)
    x = np.where(x >= 0, x, -x - 1)
    seg = np.searchsorted(_ALAW_SEG_END, x, side="left")
    shift = np.where(seg < 2, 1, seg)
    code = (np.minimum(seg, 7) << 4) | ((x >> shift) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return ((code ^ mask) & 0xFF).astype(np.uint8)


def alaw_decode(codes: npt.NDArray[np.uint8]) -> Int16Array:
    a = codes.astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def g711_round_trip(samples: Int16Array, law: Literal["ulaw", "alaw"]) -> Int16Array:
    if law == "ulaw":
        return ulaw_decode(ulaw_encode(samples))
    return alaw_decode(alaw_encode(samples))


# --- noise and levels --------------------------------------------------------------------------------------------


def active_power(samples: npt.ArrayLike, rate: int = RATE) -> float:
    """Mean power of the active frames: 20 ms frames within 30 dB of the loudest (see the module docstring)."""
    x = np.asarray(samples, dtype=np.float64)
    frame = max(1, round(FRAME_S * rate))
    count = len(x) // frame
    if count == 0:
        return float(np.mean(x**2)) if len(x) else 0.0
    powers = np.mean(x[: count * frame].reshape(count, frame) ** 2, axis=1)
    loudest = float(powers.max())
    if loudest <= 0:
        return 0.0
    return float(powers[powers >= loudest * 10 ** (-ACTIVE_RANGE_DB / 10)].mean())


def pink_noise(length: int, seed: int) -> FloatArray:
    """Unit-power pink noise (1/f power spectrum), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length)
    freqs[0] = freqs[1] if length > 1 else 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(freqs), n=length)
    pink -= pink.mean()
    power = float(np.mean(pink**2))
    return pink / np.sqrt(power) if power > 0 else pink


def mix_at_snr(speech: npt.ArrayLike, noise: FloatArray, snr_db: float, rate: int = RATE) -> Int16Array:
    """``speech`` + ``noise`` scaled so that active speech power / noise power = ``snr_db``; the sum is scaled down
    as a whole when it would clip (the ratio stays)."""
    clean = np.asarray(speech, dtype=np.float64)
    gain = np.sqrt(active_power(clean, rate) / (float(np.mean(noise**2)) * 10 ** (snr_db / 10)))
    mixed = clean + gain * noise[: len(clean)]
    peak = float(np.abs(mixed).max()) if len(mixed) else 0.0
    if peak > 32000:
        mixed *= 32000 / peak
    out: Int16Array = np.round(mixed).astype(np.int16)
    return out


def measured_snr_db(clean: npt.ArrayLike, mixed: npt.ArrayLike, rate: int = RATE) -> float:
    """The SNR of ``mixed`` against ``clean`` (both the same scale): active speech power over noise power."""
    c = np.asarray(clean, dtype=np.float64)
    m = np.asarray(mixed, dtype=np.float64)
    scale = float(np.dot(m, c) / np.dot(c, c))  # mix_at_snr may have scaled the whole sum down
    return float(10 * np.log10(active_power(scale * c, rate) / np.mean((m - scale * c) ** 2)))


# --- rendering ---------------------------------------------------------------------------------------------------


def _speak_in_child(item: tuple[str, str, int]) -> bytes:
    text, voice, rate_wpm = item
    audio = _Engine.get().speak(text, voice, rate_wpm, EspeakSettings().pitch)
    return audio.resampled(RATE).pcm


def speak_many(items: Sequence[tuple[str, str, int]]) -> dict[tuple[str, str, int], Int16Array]:
    """espeak-ng at 8 kHz for each (text, voice, rate_wpm), each in a fresh fork of a process whose engine has
    never spoken: espeak-ng carries state from one synthesis to the next (its pitch flutter goes on where the last
    sentence stopped, and ``espeak_ng_SetRandSeed`` does not reset it), so the same sentence in one process comes
    out a few samples different each time. A fork per sentence makes a clip depend on nothing but its inputs.
    The project's provider engine (:class:`voice_ai.providers.tts.espeak._Engine`) and resampler are used."""
    unique = list(dict.fromkeys(items))
    engine = _Engine.get()  # loaded (not used) before the forks: every child starts from this state
    Audio(bytes(200), engine.sample_rate).resampled(RATE)  # and scipy's resampler imported once, not per child
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=min(2, max(1, len(unique))), maxtasksperchild=1) as pool:
        rendered = pool.map(_speak_in_child, unique, chunksize=1)
    return {item: np.frombuffer(pcm, dtype="<i2").astype(np.int16) for item, pcm in zip(unique, rendered, strict=True)}


def speak(text: str, voice: str = "pt-br", rate_wpm: int = 150) -> Int16Array:
    return speak_many([(text, voice, rate_wpm)])[(text, voice, rate_wpm)]


@functools.cache
def _babble_talkers() -> tuple[Int16Array, ...]:
    speech = speak_many([(sentence, voice, 150) for voice, sentence in _BABBLE])
    return tuple(speech[(sentence, voice, 150)] for voice, sentence in _BABBLE)


def babble_noise(length: int, seed: int) -> FloatArray:
    """Unit-power babble: the four talkers of ``_BABBLE``, each looped from a seed-chosen offset, summed."""
    rng = np.random.default_rng(seed)
    total = np.zeros(length)
    for talker16 in _babble_talkers():
        talker = talker16.astype(np.float64)
        looped = np.tile(talker, length // len(talker) + 2)
        start = int(rng.integers(0, len(talker)))
        total += looped[start : start + length] / np.sqrt(np.mean(talker**2))
    total -= total.mean()
    babble: FloatArray = total / np.sqrt(float(np.mean(total**2)))
    return babble


def apply(speech: Int16Array, text: str, cond: Condition) -> tuple[Int16Array, Int16Array]:
    """(clean, as sent): ``speech`` (the condition's espeak-ng rendering of ``text``) padded, then with the
    condition's noise and codec; both 8 kHz int16."""
    pad = np.zeros(round(PAD_S * RATE), dtype=np.int16)
    clean = np.concatenate([pad, speech, pad])
    out = clean
    if cond.noise is not None and cond.snr_db is not None:
        seed = seed_of(cond.name, text)
        noise = pink_noise(len(clean), seed) if cond.noise == "pink" else babble_noise(len(clean), seed)
        out = mix_at_snr(clean, noise, cond.snr_db)
    if cond.codec != "linear":
        out = g711_round_trip(out, cond.codec)
    return clean, out


def render_samples(text: str, cond: Condition) -> tuple[Int16Array, Int16Array]:
    if cond.text:
        raise ValueError(f"condition {cond.name!r} is text: nothing to render")
    return apply(speak(text, cond.voice, cond.rate_wpm), text, cond)


def wav(samples: Int16Array) -> bytes:
    return Audio(samples.astype("<i2").tobytes(), RATE).wav()


def render(text: str, cond: Condition) -> bytes:
    """The sentence as the condition's 8 kHz 16-bit mono WAV."""
    return wav(render_samples(text, cond)[1])


class VoiceCache:
    """Rendered clips on disk, keyed by condition and sentence: each is rendered once per cache folder (keep the
    folder to compare two versions of the service on the very same audio)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, text: str, cond: Condition) -> Path:
        key = hashlib.sha256(f"{cond!r}\x1f{text}".encode()).hexdigest()[:20]
        return self.folder / f"{cond.name}-{key}.wav"

    def get(self, text: str, cond: Condition) -> bytes:
        path = self.path(text, cond)
        if not path.exists():
            self.prepare([text], [cond])
        return path.read_bytes()

    def prepare(self, texts: Sequence[str], conditions: Sequence[Condition]) -> int:
        """Render every missing (sentence, condition) clip (espeak-ng once per sentence, voice and rate); returns
        how many were rendered."""
        missing = [
            (text, cond)
            for cond in conditions
            if not cond.text
            for text in dict.fromkeys(texts)
            if not self.path(text, cond).exists()
        ]
        speech = speak_many([(text, cond.voice, cond.rate_wpm) for text, cond in missing])
        for text, cond in missing:
            _, samples = apply(speech[(text, cond.voice, cond.rate_wpm)], text, cond)
            path = self.path(text, cond)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(wav(samples))
            tmp.replace(path)
        return len(missing)


if __name__ == "__main__":  # one sentence in every condition, to listen to: voices.py "Frase." [out_dir]
    import sys

    out = Path(sys.argv[2] if len(sys.argv) > 2 else "voices-out")
    out.mkdir(parents=True, exist_ok=True)
    for item in CONDITIONS:
        if not item.text:
            (out / f"{item.name}.wav").write_bytes(render(sys.argv[1], item))
            print(out / f"{item.name}.wav")
