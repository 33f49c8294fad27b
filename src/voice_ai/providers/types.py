"""What providers take and return. Results carry the provider that produced them and how long it took,
so a fallback chain can report who answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from voice_ai.providers.audio import Audio

Kind = Literal["stt", "tts", "llm", "embeddings"]
KINDS: tuple[Kind, ...] = ("stt", "tts", "llm", "embeddings")
Role = Literal["system", "user", "assistant"]
EmbeddingKind = Literal["query", "passage"]


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, as data (shown by GET /api/v1/provider-types)."""

    streaming: bool = False
    languages: tuple[str, ...] | None = None  # None: any language the model handles
    sample_rates: tuple[int, ...] = ()
    offline: bool = False  # works with no network and no key
    structured_output: bool = False  # LLM: JSON schema / tool calls
    dimensions: int | None = None  # embeddings

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class CallInfo:
    """Who answered and how: filled in by the base class for every public call."""

    provider: str = ""
    latency_ms: float = 0.0
    attempts: int = 0
    usage: dict[str, float] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)  # providers that failed before this one answered


@dataclass
class Transcript:
    text: str
    language: str | None = None
    confidence: float | None = None
    duration_s: float = 0.0
    alternatives: tuple[str, ...] = ()  # other hypotheses of the recogniser (n-best after ``text``), best first
    info: CallInfo = field(default_factory=CallInfo)


@dataclass
class Speech:
    audio: Audio
    info: CallInfo = field(default_factory=CallInfo)


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of the tenant's documents."""

    content: str
    source: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class TransferTarget:
    """A transfer rule as the dialog sees it: the destination always comes from here, never from text."""

    department: str
    destination: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    context: str | None = None
    ring_seconds: int | None = None  # issue 13: how long it rings before the caller comes back (None: default)
    announce: bool = False  # issue 13: the person who answers hears who is calling and accepts with 1


@dataclass(frozen=True)
class DialogContext:
    """What a turn knows besides the messages; real LLMs get it rendered into the prompt, the built-in
    dialog policy uses it directly."""

    language: str = "pt-BR"
    company_name: str | None = None
    passages: Sequence[Passage] = ()
    transfer_targets: Sequence[TransferTarget] = ()
    heard: Heard | None = None  # how the caller's words were recognised; None for typed text
    opening: Opening | None = None  # what is open now (opening hours, issue 13); None: no schedule applies


@dataclass(frozen=True)
class Opening:
    """What is open at the turn's time (opening hours, :mod:`voice_ai.schedules`): a transfer to a department closed
    now is never made; the model is told, and the caller hears when it opens."""

    now: str  # the local time where the hours apply, e.g. "Monday 2026-11-30 19:30 (America/Sao_Paulo)"
    open: bool = True  # the secretary's own hours (its operator): True without a schedule
    opens: str | None = None  # when the secretary opens, as said ("amanhã às 8h"); None: open, or not known
    closed: Mapping[str, str | None] = field(default_factory=dict)  # department closed now → when it opens (said)


@dataclass(frozen=True)
class Heard:
    """What speech recognition made of the caller's words, for a decision that must survive its errors."""

    confidence: float | None = None  # the recogniser's rough 0..1, when it gives one
    alternatives: tuple[str, ...] = ()  # its other hypotheses, best first
    repaired: str | None = None  # the transcript with sound-alike tenant terms restored (voice_ai.understanding)


@dataclass
class ChatResult:
    text: str
    data: dict[str, Any] | None = None  # parsed structured output when a response schema was given
    info: CallInfo = field(default_factory=CallInfo)


@dataclass
class Embeddings:
    vectors: list[list[float]]
    model: str
    dimensions: int
    info: CallInfo = field(default_factory=CallInfo)
