"""What the service learns about a FreeSWITCH call from the event socket's ``connect`` reply, and the checks a
value must pass before it goes into a FreeSWITCH command (the same rules as the Lua call flow's)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN = re.compile(r"^[A-Za-z0-9+*#][A-Za-z0-9+*#._@-]{0,63}$")  # a dialplan destination (callflow.lua)
CONTEXT = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")
SCRIPTS_DIR = re.compile(r"^/[A-Za-z0-9._/-]*$")  # an absolute path that is one plain dialplan token
CALL_UUID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def safe_destination(value: str | None) -> bool:
    return value is not None and TOKEN.match(value) is not None


def safe_context(value: str | None) -> bool:
    return value is not None and CONTEXT.match(value) is not None


def literal_pattern(value: str) -> str:
    """A PCRE that matches ``value`` and nothing else (the plain-FreeSWITCH no-route guard's
    ``^${voice_ai_transfer_pattern}$``; the same escaping as callflow.lua)."""
    return re.sub(r"([^A-Za-z0-9])", r"\\\1", value)


def _blank(value: str | None) -> str | None:
    if value is None or value == "" or value == "_undef_":
        return None
    return value


@dataclass(frozen=True)
class ChannelInfo:
    """The channel as the entry script left it (secretary_ai.lua, voice_ai.stream)."""

    call_uuid: str
    domain_uuid: uuid.UUID | None
    domain_name: str | None
    secretary: str | None
    caller_id_number: str | None
    caller_id_name: str | None
    destination_number: str | None
    fallback_destination: str | None
    fallback_context: str | None
    scripts_dir: str | None
    language: str | None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # the whole connect reply

    def variable(self, name: str) -> str | None:
        """A channel variable as the connect reply carried it (None when unset)."""
        return _blank(self.headers.get(f"variable_{name}"))

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> ChannelInfo:
        def var(name: str) -> str | None:
            return _blank(headers.get(f"variable_{name}"))

        call_uuid = headers.get("Unique-ID") or var("uuid") or ""
        if not CALL_UUID.match(call_uuid):
            raise ValueError(f"the event socket's connect reply has no usable Unique-ID ({call_uuid!r})")
        try:
            domain_uuid = uuid.UUID(var("domain_uuid") or "")
        except ValueError:
            domain_uuid = None
        domain_name = var("domain_name")
        scripts_dir = var("voice_ai_scripts_dir")
        return cls(
            call_uuid=call_uuid,
            domain_uuid=domain_uuid,
            domain_name=domain_name,
            secretary=var("voice_ai_secretary"),
            caller_id_number=_blank(headers.get("Caller-Caller-ID-Number")) or var("caller_id_number"),
            caller_id_name=_blank(headers.get("Caller-Caller-ID-Name")) or var("caller_id_name"),
            destination_number=_blank(headers.get("Caller-Destination-Number")) or var("destination_number"),
            fallback_destination=var("voice_ai_fallback_destination"),
            fallback_context=var("voice_ai_fallback_context") or domain_name or "default",
            scripts_dir=scripts_dir if scripts_dir and SCRIPTS_DIR.match(scripts_dir) else None,
            language=var("voice_ai_language"),
            headers=dict(headers),
        )

    @property
    def problems(self) -> list[str]:
        """What keeps the service from taking this call (the entry script's fallback takes it then)."""
        found = []
        if self.domain_uuid is None:
            found.append("channel variable domain_uuid is not set (or not a uuid)")
        if not self.secretary:
            found.append("no secretary: the entry script's argument or voice_ai_secretary")
        return found
