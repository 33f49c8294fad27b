"""StreamingCall against a fake engine and a fake transport (``contracts.py`` exactly), real speech, fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from stream_fakes import Harness, cut, delayed, mix, reply, scaled, settle, silence, wav

from voice_ai.conversation.actions import Action, Transfer
from voice_ai.providers.audio import Audio
from voice_ai.streaming.contracts import CALLER_LEFT, StreamSettings

QUESTION = wav("question_price").pcm
COUGH = cut(wav("transfer_financeiro").pcm, 200, 200)  # 200 ms of voice, an "uhum": it pauses, never confirms
LONG = " ".join(f"palavra{i}" for i in range(40))  # a sentence whose heard prefix shows the position finely


def prefix(words: str, share: float) -> str:
    """The words a caller hears of ``words`` when ``share`` of its audio played (as the call counts them)."""
    split = words.split()
    return " ".join(split[: round(min(share, 1.0) * len(split))])


async def started(settings: StreamSettings | None = None, *, pausing: bool = True) -> Harness:
    h = Harness(settings, greeting=wav("goodbye"), pausing=pausing)
    await h.start()
    assert [c.id for c in h.transport.played] == ["1.0"]  # the greeting
    await h.quiet(2000)  # it plays (1.4 s, estimated: the fake transport reports nothing)
    assert h.call.phase == "listening"
    return h


async def test_a_question_is_answered_sentence_by_sentence() -> None:
    h = await started()
    h.engine.replies.append(reply(h.log, ["Claro.", "Custa cem reais.", "Mais alguma coisa?"]))
    await h.say(QUESTION)
    await h.quiet(4000, until=lambda: len(h.transport.played) == 4)
    clips = h.transport.played[1:]
    assert [c.text for c in clips] == ["Claro.", "Custa cem reais.", "Mais alguma coisa?"]
    # the first sentence was handed to the transport before the reply was complete
    assert h.log.index("play 2.0") < h.log.index("part 1")
    await h.quiet(9000, until=lambda: bool(h.engine.streams[0].commits))
    stream = h.engine.streams[0]
    assert stream.commits[0]["heard"] is None  # all of it was heard
    timings = stream.commits[0]["timings"]
    assert 600 <= timings["eot_ms"] < 640
    assert timings["first_audio_ms"] >= timings["eot_ms"]
    assert h.engine.responded[0][1].text == "pergunta 1"
    types = [e["type"] for e in h.transport.events]
    assert {"transcript", "reply", "latency", "state"} <= set(types)
    assert h.call.phase == "listening" and h.call.turns == 1


async def test_the_turn_ends_only_after_end_of_turn_ms_of_silence_after_speech() -> None:
    h = await started(StreamSettings(end_of_turn_ms=1000, idle_prompt_s=60))
    await h.quiet(3000)  # silence before speech counts for nothing
    assert h.engine.responded == []
    await h.say(QUESTION + silence(900))
    assert h.engine.responded == []  # 900 ms of silence after the words: still the caller's turn
    await h.quiet(300)
    assert len(h.engine.responded) == 1


async def test_the_speculative_transcript_is_used_when_the_caller_stops() -> None:
    h = await started()
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: bool(h.engine.responded))
    assert len(h.engine.transcribed) == 1  # started on the 200 ms pause, reused at the end of the turn
    pause_at = h.engine.transcribed[0][0]
    assert pause_at < h.engine.responded[0][0] - 0.35
    await h.quiet(8000, until=lambda: bool(h.engine.streams and h.engine.streams[0].commits))
    assert h.engine.streams[0].commits[0]["timings"]["stt_speculative"] == 1.0


async def test_the_speculative_transcript_is_discarded_when_the_caller_goes_on() -> None:
    h = await started()
    h.engine.texts = ["quanto custa", "quanto custa a consulta no sábado"]
    await h.say(QUESTION + silence(380) + wav("question_saturday").pcm)
    await h.quiet(1000, until=lambda: bool(h.engine.responded))
    assert len(h.engine.transcribed) == 2
    first, second = (audio.duration_s for _, audio in h.engine.transcribed)
    assert second > first + 1.5  # the whole utterance, transcribed again
    assert h.engine.responded[0][1].text == "quanto custa a consulta no sábado"


@pytest.mark.parametrize("pausing", [True, False], ids=["pause-then-stop", "stop-only-transport"])
async def test_barge_in_stops_playback_and_commits_what_was_heard(pausing: bool) -> None:
    h = await started(pausing=pausing)
    h.engine.replies.append(reply(h.log, [LONG, "E aos sábados até o meio-dia."]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    first_clip = h.transport.played[1]
    h.call.playback_started(first_clip.id)
    t0 = h.clock.t
    await h.quiet(600)  # 0.6 s of the first clip (1.83 s) played
    await h.say(wav("transfer_financeiro").pcm[:8000], until=lambda: h.transport.stops > 0)
    # with pause support: paused at the first ~100 ms of voice, stopped once 300 ms confirm it; else stop only
    assert [what for what, _ in h.transport.controls] == (["pause", "stop"] if pausing else ["stop"])
    assert [e["state"] for e in h.transport.barge_ins()] == (["paused", "confirmed"] if pausing else ["confirmed"])
    confirmed = h.transport.barge_ins()[-1]
    assert 300 <= confirmed["voice_ms"] < 420
    await settle()
    stream = h.engine.streams[0]
    assert stream.closed and len(stream.commits) == 1
    # what was heard ends where our audio stopped: at the pause (the held time is not heard), else at the stop
    cut_at = h.transport.controls[0][1]
    assert stream.commits[0]["heard"] == prefix(LONG, (cut_at - t0) / first_clip.audio.duration_s)
    timings = stream.commits[0]["timings"]
    assert abs(timings["interrupted_ms"] - (cut_at - t0) * 1000) < 1
    reaction = timings["barge_in_reaction_ms"]
    assert round(reaction) == confirmed["reaction_ms"]
    assert (reaction < 250) if pausing else (reaction >= 300)  # the fake clock: deterministic
    # the interruption is the next turn
    await h.say(wav("transfer_financeiro").pcm[8000:] + silence(1000), until=lambda: len(h.engine.responded) == 2)
    assert len(h.engine.responded) == 2


@pytest.mark.parametrize("pausing", [True, False], ids=["pausing-transport", "stop-only-transport"])
async def test_a_cough_does_not_barge_in(pausing: bool) -> None:
    h = await started(pausing=pausing)
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    await h.say(silence(300) + COUGH + silence(600))
    assert h.transport.stops == 0 and not h.engine.streams[0].closed
    assert [what for what, _ in h.transport.controls] == (["pause", "resume"] if pausing else [])


async def test_a_cough_pauses_the_reply_and_it_plays_on_from_where_it_paused() -> None:
    h = await started()
    h.engine.replies.append(reply(h.log, [LONG, "E aos sábados até o meio-dia."]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    first_clip = h.transport.played[1]
    h.call.playback_started(first_clip.id)
    t0 = h.clock.t
    await h.quiet(500)
    await h.say(silence(300) + COUGH + silence(600))
    assert [what for what, _ in h.transport.controls] == ["pause", "resume"]
    (_, paused), (_, resumed) = h.transport.controls
    held = resumed - paused
    assert 0.1 < held < 0.6
    assert paused - t0 < 1.0  # paused during the cough (it began 0.8 s in)
    events = h.transport.barge_ins()
    assert [e["state"] for e in events] == ["paused", "resumed"]
    assert events[1]["reason"] == "voice_ended" and events[1]["paused_ms"] == round(held * 1000)
    stream = h.engine.streams[0]
    assert not stream.closed and stream.commits == [] and h.call.phase == "speaking"
    # the caller hangs up: they heard the clip up to now, less the time it was held
    await h.quiet(300)
    await h.call.closed("caller hung up")
    played = h.clock.t - t0 - held
    assert played < first_clip.audio.duration_s < played + held  # the held time decides how much was heard
    assert stream.commits[0]["heard"] == prefix(LONG, played / first_clip.audio.duration_s)


async def test_after_a_cough_the_reply_ends_later_by_the_time_it_was_held() -> None:
    h = await started()
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    sent_at = h.clock.t  # the transport reports nothing: the call estimates from the clips' durations
    duration = sum(clip.audio.duration_s for clip in h.transport.played[1:])
    await h.say(silence(300) + COUGH + silence(600))
    (_, paused), (_, resumed) = h.transport.controls
    stream = h.engine.streams[0]
    await h.quiet(6000, until=lambda: bool(stream.commits))
    assert stream.commits[0]["heard"] is None  # all of it was heard
    # finished = its estimated end (0.5 s margin for a transport that reports nothing), moved by the held time
    assert h.clock.t >= sent_at + duration + (resumed - paused) + 0.5 - 0.021
    assert h.transport.stops == 0


async def test_our_own_echo_does_not_barge_in_and_the_caller_does() -> None:
    h = await started()
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    clips = h.transport.played[1:]
    played = b"".join(c.audio.pcm for c in clips)
    echo = delayed(scaled(played, 0.3), 150)  # the line sends our reply back, 150 ms later
    await h.say(echo[: 16000 * 2])  # 2 s of it
    assert h.transport.controls == []  # not even a pause
    assert h.call.detector.echo_rejected_ms > 300
    caller = scaled(wav("transfer_financeiro").pcm, 0.6)
    await h.say(mix(echo[32000 : 32000 + len(caller)], caller), until=lambda: h.transport.stops > 0)
    assert [what for what, _ in h.transport.controls] == ["pause", "stop"]


async def test_key_0_goes_to_the_operator() -> None:
    h = await started()
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    h.call.dtmf("0")
    await settle()
    await h.call.wait()
    assert h.transport.stops == 1
    assert h.transport.transfers == [("1000", "default")]
    assert h.engine.ends == [{"outcome": "transferred", "destination": "1000", "context": "default", "error": None}]
    assert h.call.phase == "ended"


async def test_key_star_replays_and_hash_closes_the_turn() -> None:
    h = await started(StreamSettings(end_of_turn_ms=2000))
    h.call.dtmf("*")
    await settle()
    assert [c.text for c in h.transport.played] == ["Olá, em que posso ajudar?"] * 2
    await h.quiet(2000)
    await h.say(QUESTION + silence(300))
    assert h.engine.responded == []
    h.call.dtmf("#")
    await settle()
    assert len(h.engine.responded) == 1  # without waiting for the 2 s of silence


async def test_idle_caller_gets_a_silent_turn() -> None:
    h = await started(StreamSettings(idle_prompt_s=3))
    await h.quiet(2500)
    assert h.engine.responded == []
    await h.quiet(700)
    assert len(h.engine.responded) == 1 and h.engine.responded[0][1].text == ""


async def test_an_engine_failure_hands_the_call_to_the_fallback_once() -> None:
    h = await started()
    h.engine.fail_respond = True
    await h.say(QUESTION)
    await h.quiet(1000)
    await h.call.wait()
    assert len(h.transport.failures) == 1
    assert [e["outcome"] for e in h.engine.ends] == ["error"]
    # outside (a channel variable, the browser) only the error's category; the detail stays in the service
    assert h.transport.failures == ["RuntimeError"]
    assert "s3cret-pass" not in (h.engine.ends[0]["error"] or "")
    h.call.feed(QUESTION)  # the call is over: nothing more happens
    await h.call.closed("caller hung up")
    assert len(h.transport.failures) == 1 and len(h.engine.ends) == 1


async def test_a_failure_mid_reply_and_a_transport_failure_are_handled() -> None:
    h = await started()
    h.engine.replies.append(reply(h.log, ["Um.", "Dois."], fail_at=1))
    await h.say(QUESTION)
    await h.quiet(1000)
    await h.call.wait()
    assert len(h.transport.failures) == 1 and h.engine.ends[0]["outcome"] == "error"

    h = await started()
    h.transport.fail_play = True
    await h.say(QUESTION)
    await h.quiet(1000)
    await h.call.wait()
    assert len(h.transport.failures) == 1 and h.engine.ends[0]["outcome"] == "error"


async def test_the_caller_hanging_up_mid_reply_commits_what_was_heard() -> None:
    h = await started()
    words = "Atendemos de segunda a sexta das oito da manhã às seis da tarde"
    h.engine.replies.append(reply(h.log, [words, "Mais alguma coisa?"]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    await h.quiet(800)
    await h.call.closed("caller hung up")
    stream = h.engine.streams[0]
    assert stream.closed and len(stream.commits) == 1
    assert 0 < len(stream.commits[0]["heard"].split()) < len(words.split())
    assert h.engine.ends == [{"outcome": "hangup", "destination": None, "context": None, "error": None}]


async def test_hanging_up_before_any_turn_is_abandoned() -> None:
    h = await started()
    await h.call.closed("caller hung up")
    assert [e["outcome"] for e in h.engine.ends] == ["abandoned"]


async def test_a_transfer_is_carried_out_after_its_words_played() -> None:
    h = await started()
    action = Action("transfer", Transfer("2001", "default", "financeiro"))
    h.engine.replies.append(reply(h.log, ["Vou transferir para o financeiro."], action=action))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 2)
    assert h.transport.transfers == []  # its words play first (1.8 s)
    await h.quiet(3000, until=lambda: bool(h.transport.transfers))
    await h.call.wait()
    assert h.transport.transfers == [("2001", "default")]
    assert h.engine.ends[0]["outcome"] == "transferred" and h.engine.ends[0]["destination"] == "2001"
    assert h.engine.streams[0].commits[0]["heard"] is None


async def ringing(
    result: str | None, ring_seconds: int | None = None, *, announce: bool = False, engine: dict[str, Any] | None = None
) -> Any:
    h = Harness(greeting=wav("goodbye"), ringing=True)
    for name, value in (engine or {}).items():
        setattr(h.engine, name, value)
    await h.start()
    await h.quiet(2000)
    h.transport.ring_result = result  # type: ignore[attr-defined]
    target = Transfer("2001", "default", "financeiro", ring_seconds=ring_seconds, announce=announce)
    action = Action("transfer", target)
    h.engine.replies.append(reply(h.log, ["Vou transferir para o financeiro."], action=action))
    await h.say(QUESTION)
    await h.quiet(4000, until=lambda: bool(h.transport.rings))  # type: ignore[attr-defined]
    await settle()
    return h


@pytest.mark.parametrize(("rule", "rung"), [(None, 30), (12, 12), (2, 5), (999, 120)])
async def test_a_transfer_rings_for_the_rules_time_and_an_answer_connects(rule: int | None, rung: int) -> None:
    h = await ringing(None, rule)
    await h.call.wait()
    assert h.transport.rings == [("2001", "default", rung)]  # type: ignore[attr-defined]
    assert h.transport.transfers == []  # not the one-way transfer
    assert h.engine.ends == [{"outcome": "transferred", "destination": "2001", "context": "default", "error": None}]
    assert h.engine.failed_transfers == [] and h.call.phase == "ended"


@pytest.mark.parametrize("cause", ["NO_ANSWER", "USER_BUSY", "NO_ROUTE_DESTINATION"])
async def test_a_transfer_nobody_takes_brings_the_caller_back_and_the_call_goes_on(cause: str) -> None:
    h = await ringing(cause)
    await settle()
    assert h.engine.failed_transfers == [{"destination": "2001", "context": "default", "cause": cause}]
    assert h.engine.ends == []  # the call goes on
    assert h.transport.played[-1].text == "O setor Financeiro não atendeu. Quer deixar um recado?"
    await h.quiet(3000, until=lambda: h.call.phase == "listening")
    assert h.call.phase == "listening"
    h.engine.replies.append(reply(h.log, ["Pode falar o recado."]))
    await h.say(QUESTION)
    await h.quiet(3000, until=lambda: h.transport.played[-1].text == "Pode falar o recado.")
    assert h.transport.played[-1].text == "Pode falar o recado."  # the next turn is answered
    await h.call.closed("caller hung up")
    assert [e["outcome"] for e in h.engine.ends] == ["hangup"]


async def test_an_announced_transfer_rings_with_the_line_and_a_decline_brings_the_caller_back() -> None:
    h = await ringing("DECLINED", announce=True)
    await settle()
    (clip,) = h.transport.announcements  # type: ignore[attr-defined]
    assert clip is not None and clip.text == h.engine.announcing and clip.audio.sample_rate == 8000
    assert clip.audio.pcm == wav("goodbye").pcm  # the engine's samples, as made
    assert clip not in h.transport.played  # for the department's ears only: the caller never hears it
    assert h.log.index("announcement") < h.log.index("ring 2001 30")  # made before the ringing
    assert {"type": "announcement", "text": h.engine.announcing} in h.transport.events
    assert h.engine.failed_transfers == [{"destination": "2001", "context": "default", "cause": "DECLINED"}]
    assert h.engine.ends == [] and h.transport.played[-1].text.endswith("Quer deixar um recado?")


@pytest.mark.parametrize("problem", [RuntimeError("the TTS is down"), None])
async def test_an_announcement_that_cannot_be_made_rings_unannounced(problem: Exception | None) -> None:
    silent = Audio(b"", 8000)  # a line that synthesised to nothing cannot be played to anyone
    engine = {"announcing": problem} if problem is not None else {"announcement": _returning("Ligação.", silent)}
    h = await ringing(None, announce=True, engine=engine)
    await h.call.wait()
    assert h.transport.rings == [("2001", "default", 30)]  # type: ignore[attr-defined]
    assert h.transport.announcements == [None]  # type: ignore[attr-defined]
    assert [e["outcome"] for e in h.engine.ends] == ["transferred"]


async def test_a_caller_who_hangs_up_while_the_announcement_is_made_is_not_rung_for() -> None:
    gate = asyncio.Event()

    async def slow(*args: Any, **kw: Any) -> tuple[str, Audio]:
        await gate.wait()
        return "Ligação de Maria.", wav("goodbye")

    h = Harness(greeting=wav("goodbye"), ringing=True)
    h.engine.announcement = slow  # type: ignore[method-assign]
    await h.start()
    await h.quiet(2000)
    action = Action("transfer", Transfer("2001", "default", "financeiro", announce=True))
    h.engine.replies.append(reply(h.log, ["Vou transferir para o financeiro."], action=action))
    await h.say(QUESTION)
    await h.quiet(4000, until=lambda: h.call.phase == "ending")
    closing = asyncio.ensure_future(h.call.closed("caller hung up"))
    await settle()
    gate.set()
    await closing
    await settle()
    assert h.transport.rings == []  # type: ignore[attr-defined]
    assert h.engine.failed_transfers == [] and [e["outcome"] for e in h.engine.ends] == ["hangup"]


def _returning(text: str, audio: Audio) -> Any:
    async def announcement(*args: Any, **kw: Any) -> tuple[str, Audio]:
        return text, audio

    return announcement


async def test_a_caller_who_hangs_up_while_it_rings_ends_the_call_not_a_failed_transfer() -> None:
    h = Harness(greeting=wav("goodbye"), ringing=True)
    await h.start()
    await h.quiet(2000)
    gate = asyncio.Event()
    h.transport.ring_gate, h.transport.ring_result = gate, CALLER_LEFT  # type: ignore[attr-defined]
    action = Action("transfer", Transfer("2001", "default", "financeiro"))
    h.engine.replies.append(reply(h.log, ["Vou transferir para o financeiro."], action=action))
    await h.say(QUESTION)
    await h.quiet(4000, until=lambda: bool(h.transport.rings))  # type: ignore[attr-defined]
    closing = asyncio.ensure_future(h.call.closed("caller hung up"))
    await settle()
    gate.set()
    await closing
    assert h.engine.failed_transfers == []
    assert [e["outcome"] for e in h.engine.ends] == ["hangup"]


@pytest.mark.parametrize("answer", [None, "USER_BUSY"])
async def test_key_0_rings_the_operator_who_may_not_answer(answer: str | None) -> None:
    h = Harness(greeting=wav("goodbye"), ringing=True)
    await h.start()
    await h.quiet(2000)
    h.transport.ring_result = answer  # type: ignore[attr-defined]
    h.call.dtmf("0")
    await settle()
    assert h.transport.rings == [("1000", "default", 30)]  # type: ignore[attr-defined]
    assert h.transport.transfers == []
    if answer is None:
        await h.call.wait()
        assert [e["outcome"] for e in h.engine.ends] == ["transferred"]
    else:
        assert h.engine.failed_transfers == [{"destination": "1000", "context": "default", "cause": "USER_BUSY"}]
        assert h.engine.ends == [] and h.transport.played[-1].text.endswith("Quer deixar um recado?")
        await h.quiet(3000, until=lambda: h.call.phase == "listening")
        assert h.call.phase == "listening"


async def test_speech_while_the_reply_is_produced_cancels_it_and_carries_the_words() -> None:
    h = await started()
    h.engine.texts = ["quanto custa", "a consulta"]
    h.engine.replies.append(reply(h.log, ["Cem reais."], gate=asyncio.Event()))  # a slow LLM
    await h.say(QUESTION)
    await h.quiet(700, until=lambda: bool(h.engine.responded))
    stream = h.engine.streams[0]
    await h.say(wav("question_saturday").pcm + silence(1000), until=lambda: len(h.engine.responded) == 2)
    assert stream.closed and stream.commits == []  # nothing of it was heard: not stored
    assert h.transport.controls == []  # nothing was playing: nothing to pause or stop
    assert h.engine.responded[1][1].text == "quanto custa a consulta"  # the words carried over


async def test_a_reporting_transport_finishes_the_reply_when_its_last_clip_stops() -> None:
    h = await started()
    action = Action("hangup")
    h.engine.replies.append(reply(h.log, ["Até logo.", "Obrigada."], action=action))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    first, last = h.transport.played[1:]
    h.call.playback_started(first.id)
    await h.quiet(1000)  # FreeSWITCH is slow to start the clip: 1 s late
    h.call.playback_stopped(first.id)
    h.call.playback_started(last.id)
    await h.quiet(2500)  # past the estimate from durations, but the transport reports: wait for its word
    assert h.transport.hangups == 0 and h.engine.streams[0].commits == []
    h.call.playback_stopped(last.id)
    await settle()
    await h.call.wait()
    assert h.transport.hangups == 1
    assert h.engine.streams[0].commits[0]["heard"] is None
    assert h.engine.ends == [{"outcome": "resolved", "destination": None, "context": None, "error": None}]


async def test_hanging_up_while_the_call_starts_still_ends_the_conversation() -> None:
    h = Harness()
    gate = asyncio.Event()
    start_stream = h.engine.start_stream

    async def slow_start(*args: Any, **kw: Any) -> Any:
        await gate.wait()
        return await start_stream(*args, **kw)

    h.engine.start_stream = slow_start  # type: ignore[method-assign]
    starting = asyncio.create_task(h.call.start())
    await settle()
    await h.call.closed("caller hung up")
    gate.set()
    await starting
    assert h.transport.played == []
    assert [e["outcome"] for e in h.engine.ends] == ["abandoned"]


async def test_key_hash_over_a_pause_cuts_the_reply_where_it_paused_and_the_words_are_a_turn() -> None:
    h = await started(StreamSettings(barge_in_min_ms=2000))  # the voice will not confirm before the key
    h.engine.replies.append(reply(h.log, [LONG, "E aos sábados até o meio-dia."]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    first_clip = h.transport.played[1]
    h.call.playback_started(first_clip.id)
    t0 = h.clock.t
    await h.say(wav("transfer_financeiro").pcm[:4000], until=lambda: bool(h.transport.controls))
    assert [what for what, _ in h.transport.controls] == ["pause"]
    h.call.dtmf("#")
    await settle()
    assert [what for what, _ in h.transport.controls] == ["pause", "stop"]
    stream = h.engine.streams[0]
    paused = h.transport.controls[0][1]
    assert stream.commits[0]["heard"] == prefix(LONG, (paused - t0) / first_clip.audio.duration_s)
    assert len(h.engine.responded) == 2  # the caller's words are the next turn


async def test_key_hash_over_a_reply_on_a_transport_that_cannot_pause_cuts_it_and_the_words_are_a_turn() -> None:
    """A transport without pause (FreeSWITCH until it has one): "#" over a playing reply must still cut it — never a
    second reply started beside the first, whose turn would then wait forever."""
    h = await started(StreamSettings(barge_in_min_ms=2000), pausing=False)
    h.engine.replies.append(reply(h.log, [LONG, "E aos sábados até o meio-dia."]))
    await h.say(QUESTION)
    await h.quiet(1000, until=lambda: len(h.transport.played) == 3)
    first_clip = h.transport.played[1]
    h.call.playback_started(first_clip.id)
    await h.say(wav("transfer_financeiro").pcm[:4000])  # ~250 ms of voice: not enough to barge in
    assert [what for what, _ in h.transport.controls] == []
    h.call.dtmf("#")
    await settle()
    assert [what for what, _ in h.transport.controls] == ["stop"]
    assert h.engine.streams[0].commits, "the cut reply is stored with what was heard"
    assert len(h.engine.responded) == 2  # the caller's words are the next turn
    await h.quiet(12000, until=lambda: len(h.engine.streams) > 1 and bool(h.engine.streams[1].commits))
    assert h.engine.streams[1].commits, "the next turn's reply plays out and is stored"


async def test_a_caller_who_keeps_pausing_does_not_pile_up_speculative_transcriptions() -> None:
    """A discarded guess keeps its recogniser busy (a thread cannot be stopped): while it runs no new guess
    starts, and the turn's end transcribes the whole segment once."""
    h = await started()
    gate = asyncio.Event()
    h.engine.stt_gate = gate
    words = wav("question_price").pcm
    await h.say(words + silence(300) + words + silence(300) + words)
    assert len(h.engine.transcribed) == 1, "one guess, still running: the later pauses started none"
    await h.quiet(900)  # the turn ends: transcribed afresh (the guess was for a shorter segment)
    assert len(h.engine.transcribed) == 2
    gate.set()
    await h.quiet(6000, until=lambda: bool(h.engine.responded))
    assert [heard.text for _, heard in h.engine.responded] == ["pergunta 2"]
