r"""Transfer targets are checked when they are saved, where the service can know them.

A transfer that does not route (``Context … not found``, ``NO_ROUTE_DESTINATION``) drops the caller in silence,
so a transfer rule's destination and a secretary's operator are checked against the PBX when they are created
or changed:

- **Standalone** (this service owns ``v_domains``; no FusionPBX tables): the format only (the schemas' patterns).
- **FusionPBX**: the (destination, context) pair must be one of the domain's enabled destinations, as FusionPBX's
  own destination pickers list them (see :mod:`voice_ai.db.repositories.pbx`). A missing context means the
  domain's name (what the call flow uses). The context must be one the domain's own destinations live in: its
  name, ``public`` when it has inbound routes, any other context a superadmin gave one of its extensions, ring
  groups, … — another domain's name only in that case, which is what FusionPBX permits (its pickers list a
  domain's own destinations; only the ``*_context`` permissions of a superadmin place them elsewhere).
- A destination no row lists as a number still routes when a dialplan of the domain (or a global one) in that
  context matches it with a ``destination_number`` condition: FusionPBX's outbound routes (``^\+?55(\d{10,11})$``)
  have no number, only that expression. Entries with ``continue="true"`` do not count (FusionPBX's variable
  setters match every number and route nowhere). As FusionPBX's dialplan loader does, a domain's context also
  takes the ``global`` entries. The expressions (PCRE, as FreeSWITCH evaluates them) are evaluated here with
  Python's ``re``, not with PostgreSQL's ``~`` (one pattern PostgreSQL cannot compile would fail the whole query):
  ``\Q…\E`` is quoted as PCRE does; a channel variable (``${caller_id_number}``) is read literally — it depends on
  the call, and matches no configured number; a pattern Python cannot compile (a PCRE-only construct) means "cannot
  tell", and the destination is accepted (and offered at call time, under the same rule).
- A context no destination of the domain lives in, but that is **another domain's name** (FusionPBX lets a
  superadmin send a tenant's operator to a shared reception in another domain): the destination must route
  among that domain's destinations, by the same rules; at call time such a rule is checked there too.
- A partial install (a source table or column missing) cannot prove that a destination does not exist: nothing
  is refused then.

Only what a request creates or changes is checked — a value equal to the stored one is not (the FusionPBX app
sends the whole form on every save), so editing a greeting never fails because of a target stored earlier
(e.g. by a superadmin). When only the destination changes and the stored context is not one of the domain's,
nothing can be said about it, so it is accepted too.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from typing import Any

from voice_ai.core.errors import FieldError
from voice_ai.db.repositories.domains import DomainRepository
from voice_ai.db.repositories.pbx import PbxDirectory
from voice_ai.providers.types import TransferTarget

logger = logging.getLogger(__name__)
SOURCES_TTL_S = 300.0
_SOURCES: dict[str, tuple[float, list[Any], list[str]]] = {}  # per database: when read, usable, missing
KINDS = (
    "an extension, ring group, IVR menu, call-center queue, conference, call flow or dialplan number, nor matched by "
    "a dialplan such as an outbound route,"
)
PATTERN_CACHE = 4096


async def check_transfer_target(
    ctx: Any, values: dict[str, Any], row: Any | None, *, destination_field: str, context_field: str
) -> None:
    """Raise a 422 ``FieldError`` when a created or changed (destination, context) cannot route in the domain."""
    stored_destination = getattr(row, destination_field, None) if row is not None else None
    stored_context = getattr(row, context_field, None) if row is not None else None
    destination_changed = destination_field in values and values[destination_field] != stored_destination
    context_changed = context_field in values and values[context_field] != stored_context
    if not (destination_changed or context_changed):
        return
    domains = DomainRepository(ctx.session)
    if await domains.is_standalone():
        return
    domain = await domains.get(ctx.domain_uuid)
    if domain is None:
        return
    domain_name = str(domain["domain_name"])
    directory = PbxDirectory(ctx.session)
    sources, missing = await directory.usable_sources()
    if missing:
        logger.info("transfer targets not checked: FusionPBX tables/columns missing (%s)", ", ".join(missing))
        return
    destination = values.get(destination_field, stored_destination)
    context = values.get(context_field, stored_context) or domain_name
    known = await directory.contexts(sources, ctx.domain_uuid, domain_name)
    owner_uuid, owner_name, whose = ctx.domain_uuid, domain_name, "this domain"
    if context not in known:
        # another domain's context (a superadmin's shared reception, say): it routes where that domain's do
        owner = await domains.get_by_name(context)
        if owner is None:
            if not context_changed:
                return  # a stored context nobody owns (set by a superadmin): the destination cannot be checked
            others = ", ".join(sorted(known - {domain_name}))
            raise FieldError(
                context_field,
                f"no destination of this domain is in context {context!r}, and no domain has that name: use the "
                f"domain's context {domain_name!r}" + (f" or one of: {others}" if others else ""),
                "unknown_context",
            )
        owner_uuid, owner_name, whose = owner["domain_uuid"], context, f"domain {context!r}"
    if destination and not await _routes(directory, sources, owner_uuid, owner_name, destination, context):
        raise FieldError(
            destination_field if destination_changed else context_field,
            f"{destination!r} does not route in context {context!r}: it is not {KINDS} of {whose} "
            "(enabled) in that context",
            "unknown_destination",
        )


async def routable_targets(
    session: Any, domain_uuid: Any, domain_name: str, targets: list[TransferTarget]
) -> list[TransferTarget]:
    """At call time (FusionPBX mode): the transfer rules whose destination still routes in the domain.

    A rule checked when it was saved may stop routing later (the extension deleted or disabled). On FusionPBX a
    transfer to such a number does not even fail: every domain context has extensions that match any number
    (``continue="true"`` variable setters), so the XML dialplan "finds" a route that ends without a bridge and the
    caller is dropped in silence — the call flow's no-route fall-back never runs. So the dialog is never offered a
    department that cannot be reached; a caller who asks for it gets the operator instead. With a partial
    install (sources missing) nothing can be proven and every rule is kept. One query per turn, FusionPBX only.
    """
    if not targets:
        return targets
    directory = PbxDirectory(session)
    key = str(session.bind.url)
    cached = _SOURCES.get(key)
    if cached is None or time.monotonic() - cached[0] > SOURCES_TTL_S:  # FusionPBX's schema changes at upgrades
        cached = _SOURCES[key] = (time.monotonic(), *await directory.usable_sources())
    _, sources, missing = cached
    if missing:
        return targets
    wanted = {(t.destination, t.context or domain_name) for t in targets}
    found = await directory.routing(sources, domain_uuid, domain_name, wanted)
    rest = wanted - found
    if rest:  # e.g. external numbers through an outbound route (one more query, only for those)
        patterns = await directory.dialplan_patterns(domain_uuid, set().union(*(_loaded(c) for _, c in rest)))
        found |= {(number, context) for number, context in rest if _matches(patterns, number, context)}
    domains = DomainRepository(session)
    for number, context in wanted - found:  # rare: another domain's context, set by a superadmin
        owner = await domains.get_by_name(context) if context != domain_name else None
        if owner is not None and await _routes(directory, sources, owner["domain_uuid"], context, number, context):
            found.add((number, context))
    kept = [t for t in targets if (t.destination, t.context or domain_name) in found]
    for target in targets:
        if target not in kept:
            logger.warning(
                "domain %s: transfer rule %r (%s@%s) no longer routes: not offered to callers",
                domain_uuid,
                target.department,
                target.destination,
                target.context or domain_name,
            )
    return kept


def _loaded(context: str) -> set[str]:
    """The dialplan contexts FreeSWITCH reads for a transfer into ``context``, as FusionPBX's dialplan loader
    builds it (``app/xml_handler/…/dialplan.lua``): a domain's context also takes the ``global`` entries; ``public``
    and ``…@…`` contexts only their own."""
    return {context} if context == "public" or "@" in context else {context, "global", "${domain_name}"}


_QUOTED = re.compile(r"\\Q(.*?)(?:\\E|$)", re.DOTALL)


@functools.lru_cache(maxsize=PATTERN_CACHE)
def _compiled(expression: str) -> re.Pattern[str] | None:
    """A dialplan expression as Python's ``re`` reads it, ``None`` when it cannot (a PCRE-only construct)."""
    python = _QUOTED.sub(lambda m: re.escape(m.group(1)), expression)  # PCRE's \Q…\E: a literal
    try:
        return re.compile(python)
    except (re.error, OverflowError, RecursionError):
        return None


def _matches(patterns: dict[str, set[str]], number: str, context: str) -> bool:
    """Whether a dialplan read for ``context`` matches ``number`` (or may: a pattern that cannot be read)."""
    for loaded in _loaded(context):
        for expression in patterns.get(loaded, ()):
            compiled = _compiled(expression)
            if compiled is None:
                logger.info("dialplan expression %r cannot be evaluated here: %r may route", expression, number)
                return True
            if compiled.search(number):
                return True
    return False


async def _routes(
    directory: PbxDirectory, sources: list[Any], domain_uuid: Any, domain_name: str, number: str, context: str
) -> bool:
    """Whether ``number`` routes in ``context`` among the domain's destinations or its dialplans' expressions."""
    if await directory.routes(sources, domain_uuid, domain_name, number, context):
        return True
    return _matches(await directory.dialplan_patterns(domain_uuid, _loaded(context)), number, context)
