"""Echo rejection: our own reply coming back down the line must not barge in; the caller's voice must."""

from __future__ import annotations

import numpy as np
import pytest
from stream_fakes import RATE, delayed, mix, noise, scaled, silence, wav

from voice_ai.streaming.audio import to_float
from voice_ai.streaming.contracts import StreamSettings
from voice_ai.streaming.echo import EchoGuard
from voice_ai.streaming.turns import Kind, Mode, TurnDetector

PLAYED = "transfer_financeiro"  # what the secretary says (3.9 s of real speech)


def listen(incoming: bytes, *, guard: bool = True, play_start: float = 1.0) -> tuple[TurnDetector, list[Kind]]:
    """The caller's line while our clip plays from ``play_start`` (call clock = seconds of caller audio)."""
    played = wav(PLAYED)
    echo = EchoGuard(RATE) if guard else None
    if echo is not None:
        echo.played(to_float(played.samples), play_start, key="clip")
    detector = TurnDetector(StreamSettings(barge_in_min_ms=300), RATE, echo=echo)
    detector.set_mode(Mode.PLAYING)
    kinds = []
    for i in range(0, len(incoming), 320):
        frame = incoming[i : i + 320]
        kinds += [e.kind for e in detector.feed(frame, (i + len(frame)) / 2 / RATE)]
    return detector, kinds


def line_echo(delay_ms: float, gain: float = 0.35, hiss_dbfs: float = -50) -> bytes:
    """What comes back: our clip attenuated, delayed by the line, with a little noise, from 1 s in."""
    played = wav(PLAYED).pcm
    echo = delayed(scaled(played, gain), 1000 + delay_ms)
    return mix(echo, noise(len(echo) / 2 / RATE * 1000 + 500, hiss_dbfs))


@pytest.mark.parametrize("delay_ms", [0, 120, 280])
def test_our_own_audio_coming_back_does_not_barge_in(delay_ms: float) -> None:
    incoming = line_echo(delay_ms)
    _, unguarded = listen(incoming, guard=False)
    assert Kind.BARGE_IN in unguarded  # without the guard the echo would interrupt the secretary
    detector, kinds = listen(incoming)
    assert Kind.BARGE_IN not in kinds
    assert detector.echo_rejected_ms > 500


def test_a_different_voice_at_the_same_level_barges_in_over_the_echo() -> None:
    other = wav("question_price").pcm  # another utterance, at the echo's level
    echo_level = np.sqrt(np.mean(np.square(np.frombuffer(scaled(wav(PLAYED).pcm, 0.35), dtype="<i2") / 32768.0)))
    other_level = np.sqrt(np.mean(np.square(np.frombuffer(other, dtype="<i2") / 32768.0)))
    caller = delayed(scaled(other, float(echo_level / other_level)), 1800)
    _, kinds = listen(mix(line_echo(120), caller))
    assert Kind.BARGE_IN in kinds


def test_after_a_cut_the_rest_of_the_clip_is_no_reference() -> None:
    guard = EchoGuard(RATE)
    played = to_float(wav(PLAYED).samples)
    guard.played(played, 0.0, key="a")
    window = played[8000:10048]  # 1.0–1.256 s of the clip, heard at once (no delay)
    assert guard.explains(window, 1.256)
    guard.cut(0.5)  # playback stopped at 0.5 s: nothing after it played
    assert not guard.explains(window, 1.256)
    assert not guard.active(3.0)


def test_a_reported_start_moves_the_reference() -> None:
    guard = EchoGuard(RATE, slack_ms=50)
    played = to_float(wav(PLAYED).samples)
    guard.played(played, 0.0, key="a")
    window = played[8000:10048]
    assert not guard.explains(window, 1.256 + 1.0)  # the clip really started 1 s later than estimated
    guard.moved("a", 1.0)
    assert guard.explains(window, 1.256 + 1.0)


def test_silence_and_nothing_played_explain_nothing() -> None:
    guard = EchoGuard(RATE)
    assert not guard.explains(to_float(np.frombuffer(silence(256), dtype="<i2").astype(np.int16)), 1.0)
    guard.played(to_float(wav(PLAYED).samples), 10.0)
    assert not guard.explains(to_float(wav("goodbye").samples[:2048]), 1.0)


def test_a_click_over_our_echo_does_not_make_the_echo_count_as_voice() -> None:
    # a 10 ms click dominates the echo window's energy: without restarting the window after it, the echo that
    # follows no longer correlates and pauses the reply at most positions (9 of 11 here)
    rng = np.random.default_rng(0)
    click = (rng.normal(0, 0.3, 80) * 32768 * np.exp(-np.arange(80) / 20)).clip(-32768, 32767).astype("<i2")
    positions = range(1300, 4600, 300)  # over the whole clip's echo
    onsets = 0
    for at in positions:
        _, kinds = listen(mix(line_echo(120, gain=0.2), delayed(click.tobytes(), at)))
        assert Kind.BARGE_IN not in kinds, at
        onsets += Kind.VOICE_ONSET in kinds
    assert onsets <= len(positions) // 4
