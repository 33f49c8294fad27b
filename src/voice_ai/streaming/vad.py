"""Voice activity detection for streaming calls: one speech probability per 32 ms chunk, chunk after chunk.

The model is Silero VAD v6, the ONNX file faster-whisper ships inside its wheel (``faster_whisper/assets``; the
``offline`` extra installs it, with onnxruntime). That export takes, per call, a sequence of 576-sample windows at
16 kHz (64 samples of context + 512 new ones) and the LSTM state ``h``/``c``: fed one window at a time with the
state and the context carried over, it gives exactly the probabilities of a whole-file run (checked in
``tests/streaming/test_vad.py``). So one process-wide session serves every call, and each call keeps its own
state (:class:`VoiceActivity`). Narrowband (8 kHz) audio is upsampled 2× by a stateful FIR first: 256 samples at
8 kHz become one 512-sample window. Cost on this project's CPUs: well under 1 ms per 32 ms chunk
(``bench/streaming_core.py``).

A cheap energy gate runs first: a chunk quieter than ``gate_dbfs`` is silence without asking the model (line
silence, comfort noise); after a run of gated chunks the model's state is reset, as a fresh utterance would find it.

Nothing is downloaded: without faster-whisper/onnxruntime (an install without the ``offline`` extra) the call falls
back to :class:`EnergyActivity`, an adaptive energy detector, and says so once in the log.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voice_ai.streaming.audio import FloatArray, Int16Array, Upsampler2x, rms_dbfs, to_float

logger = logging.getLogger(__name__)

CHUNK_MS = 32  # Silero's window: 512 samples at 16 kHz, 256 at 8 kHz
WINDOW_16K = 512
CONTEXT_16K = 64
SUPPORTED_RATES = (8000, 16000)
RESET_AFTER_GATED = 16  # ~0.5 s of gated silence: the next voice starts from a fresh model state


def chunk_samples(sample_rate: int) -> int:
    """Samples per VAD chunk at ``sample_rate`` (32 ms)."""
    if sample_rate not in SUPPORTED_RATES:
        raise ValueError(f"VAD needs 8000 or 16000 Hz audio, not {sample_rate}")
    return sample_rate * CHUNK_MS // 1000


def silero_path() -> Path | None:
    """The Silero VAD model inside the installed faster-whisper package (found without importing it: importing
    faster-whisper loads CTranslate2)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "assets" / "silero_vad_v6.onnx"
        if candidate.is_file():
            return candidate
    return None


class SileroModel:
    """The ONNX session, shared by every call of the process (one thread per inference: calls are many and
    short-lived; onnxruntime sessions are safe to run from several threads)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=options)

    def run(self, window: FloatArray, h: FloatArray, c: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """One 576-sample window (context + 512 new samples at 16 kHz) → (speech probability, new h, new c)."""
        out: list[Any] = self.session.run(None, {"input": window.reshape(1, -1), "h": h, "c": c})
        return float(np.ravel(out[0])[0]), out[1], out[2]


_model_lock = threading.Lock()
_model: SileroModel | None = None
_model_tried = False


def shared_model() -> SileroModel | None:
    """The process-wide Silero session, loaded on first use; None when it cannot be had (logged once)."""
    global _model, _model_tried
    with _model_lock:
        if not _model_tried:
            _model_tried = True
            path = silero_path()
            try:
                _model = SileroModel(path) if path is not None else None
            except Exception as exc:  # onnxruntime missing or broken: the energy detector takes over
                logger.warning("Silero VAD unavailable (%s: %s)", type(exc).__name__, exc)
                _model = None
            if _model is None:
                logger.warning(
                    "Silero VAD not found (install the 'offline' extra: faster-whisper ships it); streaming calls "
                    "use the energy detector, which is easily fooled by noise"
                )
        return _model


class Activity(Protocol):
    """Per-call voice activity: one probability per chunk of :func:`chunk_samples` samples."""

    sample_rate: int

    def probability(self, chunk: Int16Array) -> float: ...


class VoiceActivity:
    """Silero VAD with this call's state. ``probability`` takes exactly one chunk (32 ms)."""

    def __init__(self, sample_rate: int, model: SileroModel, *, gate_dbfs: float = -50.0) -> None:
        self.sample_rate = sample_rate
        self.size = chunk_samples(sample_rate)
        self.model = model
        self.gate_dbfs = gate_dbfs
        self._upsample = Upsampler2x() if sample_rate == 8000 else None
        self._context = np.zeros(CONTEXT_16K, dtype=np.float32)
        self._gated = 0
        self._reset()

    def _reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)

    def probability(self, chunk: Int16Array) -> float:
        if chunk.size != self.size:
            raise ValueError(f"a VAD chunk is {self.size} samples, got {chunk.size}")
        samples = to_float(chunk)
        wide = self._upsample(samples) if self._upsample is not None else samples
        window = np.concatenate([self._context, wide])
        self._context = wide[-CONTEXT_16K:]
        if rms_dbfs(samples) < self.gate_dbfs:
            self._gated += 1
            if self._gated == RESET_AFTER_GATED:
                self._reset()
            return 0.0
        self._gated = 0
        probability, self._h, self._c = self.model.run(window, self._h, self._c)
        return probability


class EnergyActivity:
    """The fallback when Silero is not installed: speech is a chunk well above the tracked noise floor."""

    def __init__(self, sample_rate: int, *, gate_dbfs: float = -50.0, margin_db: float = 15.0) -> None:
        self.sample_rate = sample_rate
        self.size = chunk_samples(sample_rate)
        self.gate_dbfs = gate_dbfs
        self.margin_db = margin_db
        self._floor = -70.0

    def probability(self, chunk: Int16Array) -> float:
        level = rms_dbfs(to_float(chunk))
        # the floor follows quiet chunks quickly and loud ones slowly (speech must not become the floor)
        rate = 0.2 if level < self._floor else 0.005
        self._floor += rate * (level - self._floor)
        if level < self.gate_dbfs:
            return 0.0
        above = level - max(self._floor, -70.0) - self.margin_db
        return float(1.0 / (1.0 + np.exp(-above / 2.0)))


def new_activity(sample_rate: int) -> Activity:
    """Voice activity for one call: Silero when installed, else the energy detector."""
    model = shared_model()
    if model is not None:
        return VoiceActivity(sample_rate, model)
    return EnergyActivity(sample_rate)
