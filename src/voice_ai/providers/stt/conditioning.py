"""Audio conditioning for telephone speech before Whisper: each step keeps the length and the sample rate.

Steps (named in :attr:`voice_ai.providers.stt.whisper.Decoding.conditioning`, applied in order):

- ``"highpass"``: 2nd-order Butterworth high-pass at 100 Hz (zero phase): removes DC offset and mains hum that a
  phone line or a cheap ATA adds (telephone speech has no content below 300 Hz);
- ``"normalize"``: peak normalisation to -1 dBFS, the gain bounded to 10x (+20 dB), and audio whose peak is
  below -40 dBFS left as it is: a silent turn's line noise is not blown up into "speech" for the VAD and Whisper;
- ``"preemphasis"``: y[n] = x[n] - 0.97 x[n-1] (the classic ASR front-end tilt).

Measured (``bench/stt_vocabulary.py``, docs/benchmarks.md; 30 espeak-ng clips, WER with n-best rescoring 57.1 %):
normalisation 54.8 % (and a clip 20 dB quieter 45.7 % instead of 77.1 % on 15 clips) — on by default;
pre-emphasis 59.5 %, both 58.1 %, high-pass no better (52.4 vs 51.4 % on 15 clips) — available, off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

STEPS = ("highpass", "normalize", "preemphasis")
HIGHPASS_HZ = 100.0
PEAK = 10 ** (-1 / 20)  # -1 dBFS
MAX_GAIN = 10.0
MIN_PEAK = 0.01  # -40 dBFS: below it there is nothing a caller said
PREEMPHASIS = 0.97


def condition(samples: npt.NDArray[np.float32], rate: int, steps: Sequence[str]) -> npt.NDArray[np.float32]:
    """``samples`` (float32, -1..1, mono) after ``steps``; same length, same rate. Unknown steps: ValueError."""
    out = np.asarray(samples, dtype=np.float32)
    for step in steps:
        if step not in STEPS:
            raise ValueError(f"unknown audio conditioning step {step!r} (known: {', '.join(STEPS)})")
        if out.size == 0:
            continue
        if step == "highpass" and out.size > 15:  # filtfilt needs more samples than its padding
            from scipy.signal import butter, sosfiltfilt

            sos = butter(2, HIGHPASS_HZ, btype="highpass", fs=rate, output="sos")
            out = np.asarray(sosfiltfilt(sos, out, padlen=min(out.size - 1, 3 * 6)), dtype=np.float32)
        elif step == "normalize":
            peak = float(np.max(np.abs(out)))
            if peak >= MIN_PEAK:
                out = (out * min(PEAK / peak, MAX_GAIN)).astype(np.float32)
        elif step == "preemphasis":
            out = np.append(out[:1], out[1:] - PREEMPHASIS * out[:-1]).astype(np.float32)
    return out
