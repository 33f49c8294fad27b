"""Shared schema pieces: pagination envelope and reusable constrained types."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

# Every free-text field is stripped first, then length-checked (a whitespace-only value is empty, and spaces
# around a value do not count against its limit).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Utterance = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


# One token of FreeSWITCH's ``transfer <destination> XML <context>``: no spaces or quotes, and a destination never
# starts like a flag (``-bleg``). The same rules for what is saved (transfer rules, operators) and for what the call
# flow reports (``/end``, ``transfer_failed``), and the Lua's own check (callflow.lua): ASCII letters and digits.
Destination = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_+*#][A-Za-z0-9_+*#.@-]{0,63}$")
]
DialplanContext = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.@-]{1,128}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]


class Page(BaseModel, Generic[T]):
    """One page of a list. ``total`` counts every match, not only this page."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, so typos do not silently do nothing."""

    model_config = ConfigDict(extra="forbid")
