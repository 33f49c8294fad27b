"""Turn detection: real pt-BR utterances (8 kHz) mixed with silence and hiss, and synthetic probabilities."""

from __future__ import annotations

import pytest
from stream_fakes import RATE, cut, noise, silence, voiced_start_ms, wav

from voice_ai.streaming.contracts import StreamSettings
from voice_ai.streaming.turns import Kind, Mode, TurnDetector, TurnEvent, TurnStateMachine


def run(detector: TurnDetector, pcm: bytes, frame_bytes: int = 320) -> list[TurnEvent]:
    events: list[TurnEvent] = []
    t = 0.0
    for i in range(0, len(pcm), frame_bytes):
        frame = pcm[i : i + frame_bytes]
        t += len(frame) / 2 / RATE
        events.extend(detector.feed(frame, t))
    return events


def kinds(events: list[TurnEvent]) -> list[Kind]:
    return [e.kind for e in events]


def test_an_utterance_is_one_turn_ended_after_the_configured_silence() -> None:
    speech = wav("question_price")
    lead = 3000  # long leading silence (with hiss): it never counts towards the end of the turn
    pcm = noise(lead, -60) + speech.pcm + silence(1500)
    events = run(TurnDetector(StreamSettings(end_of_turn_ms=700), RATE), pcm)
    assert kinds(events) == [Kind.SPEECH_STARTED, Kind.PAUSE, Kind.TURN_ENDED]
    started, pause, ended = events
    assert abs(started.speech_start_ms - (lead + voiced_start_ms(speech))) < 120
    assert started.at_ms - started.speech_start_ms >= 160  # confirmed after min_speech_ms
    assert ended.speech_end_ms <= lead + speech.duration_s * 1000 + 64
    assert ended.speech_end_ms >= lead + speech.duration_s * 1000 - 400
    assert 700 <= ended.at_ms - ended.speech_end_ms < 700 + 32  # counting starts at the last voice
    assert pause.speech_end_ms == ended.speech_end_ms and 200 <= pause.at_ms - pause.speech_end_ms < 232


def test_events_do_not_depend_on_frame_size() -> None:
    pcm = silence(500) + wav("transfer_financeiro").pcm + silence(1000)
    reference = run(TurnDetector(StreamSettings(), RATE), pcm)
    for frame_bytes in (160, 321, 4000):  # 10 ms, an odd byte count, 250 ms
        assert run(TurnDetector(StreamSettings(), RATE), pcm, frame_bytes) == reference


def test_wideband_frames_work_the_same() -> None:
    speech = wav("question_saturday").resampled(16000)
    detector = TurnDetector(StreamSettings(), 16000)
    pcm = silence(500, 16000) + speech.pcm + silence(1000, 16000)
    events = []
    for i in range(0, len(pcm), 640):
        events.extend(detector.feed(pcm[i : i + 640], i / 32000))
    assert kinds(events) == [Kind.SPEECH_STARTED, Kind.PAUSE, Kind.TURN_ENDED]


def test_a_short_pause_is_a_speculation_point_and_the_caller_going_on_resumes() -> None:
    a, b = wav("question_price"), wav("goodbye")
    pcm = silence(500) + a.pcm + silence(350) + b.pcm + silence(900)
    events = run(TurnDetector(StreamSettings(end_of_turn_ms=600), RATE), pcm)
    assert Kind.RESUMED in kinds(events)
    assert kinds(events)[-1] is Kind.TURN_ENDED and kinds(events).count(Kind.TURN_ENDED) == 1
    resumed = kinds(events).index(Kind.RESUMED)
    assert Kind.PAUSE in kinds(events)[:resumed]


def test_the_segment_holds_the_utterance() -> None:
    speech = wav("question_saturday")
    detector = TurnDetector(StreamSettings(), RATE)
    events = run(detector, silence(2000) + speech.pcm + silence(1000))
    segment = detector.segment(events[-1])
    assert speech.duration_s - 0.4 < segment.duration_s < speech.duration_s + 0.5


def machine(**settings: int | bool) -> TurnStateMachine:
    return TurnStateMachine(StreamSettings(**settings))  # type: ignore[arg-type]


def push(m: TurnStateMachine, ms: int, probability: float, **kw: bool) -> list[TurnEvent]:
    events: list[TurnEvent] = []
    for _ in range(round(ms / m.chunk_ms)):
        events.extend(m.push(probability, **kw))
    return events


@pytest.mark.parametrize("mode", [Mode.PLAYING, Mode.THINKING])
def test_a_cough_does_not_barge_in_and_400_ms_of_speech_does(mode: Mode) -> None:
    m = machine(barge_in_min_ms=300)
    m.set_mode(mode)
    cough = push(m, 150, 0.95) + push(m, 500, 0.0)  # a 150 ms cough
    # while our audio plays, its onset pauses the audio and its end gives it back; nothing while thinking
    assert kinds(cough) == ([Kind.VOICE_ONSET, Kind.VOICE_LOST] if mode is Mode.PLAYING else [])
    events = push(m, 400, 0.95)
    expected = [Kind.SPEECH_STARTED, Kind.BARGE_IN]
    assert kinds(events) == ([Kind.VOICE_ONSET, *expected] if mode is Mode.PLAYING else expected)
    assert events[-1].at_ms - events[-1].speech_start_ms >= 300


def test_the_voice_onset_comes_after_96_ms_of_consecutive_voice_and_the_loss_after_the_gap() -> None:
    m = machine(barge_in_min_ms=300)
    m.set_mode(Mode.PLAYING)
    assert push(m, 64, 0.95) + push(m, 32, 0.1) + push(m, 64, 0.95) == []  # 128 ms of voice, never 96 in a row
    onset = push(m, 32, 0.95)
    assert kinds(onset) == [Kind.VOICE_ONSET] and onset[0].at_ms == 192 and onset[0].speech_start_ms == 0
    assert push(m, 96, 0.0) == []  # a gap of gap_ms (100) is still the same burst
    lost = push(m, 32, 0.0)
    assert kinds(lost) == [Kind.VOICE_LOST] and not lost[0].forced
    assert lost[0].speech_end_ms == 192  # where the voice ended


def test_a_voice_never_confirmed_is_lost_after_the_onset_timeout_and_may_still_barge_in() -> None:
    m = machine(barge_in_min_ms=1500)  # needs 1 s of voice: sparse voice takes long to confirm
    m.set_mode(Mode.PLAYING)
    events = push(m, 96, 0.95)
    assert kinds(events) == [Kind.VOICE_ONSET]
    for _ in range(10):  # one voiced chunk in four
        events += push(m, 96, 0.1) + push(m, 32, 0.95)
    assert kinds(events) == [Kind.VOICE_ONSET, Kind.VOICE_LOST]  # once, not a pause per burst
    assert events[1].forced and 600 <= events[1].at_ms - events[0].at_ms < 632
    assert kinds(push(m, 1200, 0.95)) == [Kind.SPEECH_STARTED, Kind.BARGE_IN]


def test_no_voice_onset_while_thinking_listening_without_barge_in_or_on_echo() -> None:
    for mode, allowed in ((Mode.THINKING, True), (Mode.LISTENING, True), (Mode.PLAYING, False)):
        m = machine(barge_in=allowed)
        m.set_mode(mode)
        assert Kind.VOICE_ONSET not in kinds(push(m, 600, 0.95)), mode
    m = machine()
    m.set_mode(Mode.PLAYING)
    assert push(m, 1000, 0.99, echo=True) == []


def test_a_short_burst_is_not_speech_while_listening_either() -> None:
    m = machine()
    assert push(m, 96, 0.9) + push(m, 300, 0.0) == []
    assert kinds(push(m, 192, 0.9)) == [Kind.SPEECH_STARTED]


def test_no_barge_in_when_the_secretary_does_not_allow_it() -> None:
    m = machine(barge_in=False)
    m.set_mode(Mode.PLAYING)
    assert push(m, 2000, 0.99) == []
    m.set_mode(Mode.LISTENING)
    assert kinds(push(m, 200, 0.99)) == [Kind.SPEECH_STARTED]


def test_leading_silence_never_ends_a_turn_and_the_utterance_limit_does() -> None:
    m = machine(end_of_turn_ms=600)
    assert push(m, 10_000, 0.0) == []
    events = push(m, 31_000, 0.9)
    assert kinds(events) == [Kind.SPEECH_STARTED, Kind.TURN_ENDED, Kind.SPEECH_STARTED]
    assert events[1].forced and 30_000 <= events[1].at_ms - events[1].speech_start_ms < 30_032


def test_higher_threshold_while_playing_and_echo_is_not_voice() -> None:
    m = machine(barge_in_min_ms=300)
    m.set_mode(Mode.PLAYING)
    assert push(m, 1000, 0.6) == []  # voice for the listener, not enough while our audio plays
    assert push(m, 1000, 0.99, echo=True) == []
    assert Kind.BARGE_IN in kinds(push(m, 400, 0.99))


def test_force_end_closes_the_turn_now() -> None:
    m = machine(end_of_turn_ms=2000)
    assert m.force_end() is None
    push(m, 500, 0.9)
    push(m, 100, 0.0)
    event = m.force_end()
    assert event is not None and event.kind is Kind.TURN_ENDED and event.forced
    assert push(m, 3000, 0.0) == []


def test_a_real_cough_length_clip_does_not_barge_in_and_a_phrase_does() -> None:
    speech = wav("transfer_financeiro")
    start = voiced_start_ms(speech) + 300  # inside the voice
    for ms, expected in ((150, False), (600, True)):
        detector = TurnDetector(StreamSettings(barge_in_min_ms=300), RATE)
        detector.set_mode(Mode.PLAYING)
        events = run(detector, silence(500) + cut(speech.pcm, start, ms) + silence(800))
        assert (Kind.BARGE_IN in kinds(events)) is expected, ms


def test_over_our_audio_it_takes_barge_in_min_ms_of_voice_not_two_thirds_of_it() -> None:
    m = machine(barge_in_min_ms=300)
    m.set_mode(Mode.PLAYING)
    uhum = push(m, 224, 0.95) + push(m, 300, 0.0)  # 224 ms of voice: two thirds of 300 would have cut the reply
    assert kinds(uhum) == [Kind.VOICE_ONSET, Kind.VOICE_LOST]
    m = machine(barge_in_min_ms=300)
    m.set_mode(Mode.PLAYING)
    events = push(m, 160, 0.95) + push(m, 64, 0.1) + push(m, 160, 0.95)  # a dip inside a word does not count
    assert kinds(events) == [Kind.VOICE_ONSET, Kind.SPEECH_STARTED, Kind.BARGE_IN]
    assert events[-1].at_ms == 384  # 320 ms voiced
