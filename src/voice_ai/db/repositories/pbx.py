"""Read-only look-ups in FusionPBX's own tables: what a transfer ``<destination> XML <context>`` can reach in a
domain. Used to validate transfer rules and secretaries' operators when they are saved (FusionPBX mode only).

The sources and their columns are FusionPBX 5.5's (``app/*/app_config.php``): the same (number, context) pairs
its own destination pickers offer — extensions (number or alias, ``user_context``), ring groups, IVR menus,
call-center queues, conferences, conference centers (the domain's context), call flows (number or feature code)
and dialplan entries with a number (the domain's own and global ones, e.g. ``public`` inbound routes). Only
enabled rows count, as in FusionPBX's pickers; ``*_enabled`` is compared as text because FusionPBX has stored it
both as text and as boolean. Table and column names come from the fixed list below, never from a request.

Destinations that no row lists as a number — an outbound route's ``5541999998888`` — are routed by a dialplan's
``destination_number`` condition (``v_dialplan_details``). :meth:`PbxDirectory.dialplan_patterns` reads those
expressions; the service evaluates them (see :mod:`voice_ai.services.destinations`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Source:
    table: str
    numbers: tuple[str, ...]
    context: str | None  # None: the domain's name (conference centers have no context column)
    enabled: str | None
    global_rows: bool = False  # rows with domain_uuid NULL apply to every domain (dialplans)


SOURCES = (
    Source("v_extensions", ("extension", "number_alias"), "user_context", "enabled"),
    Source("v_ring_groups", ("ring_group_extension",), "ring_group_context", "ring_group_enabled"),
    Source("v_ivr_menus", ("ivr_menu_extension",), "ivr_menu_context", "ivr_menu_enabled"),
    Source("v_call_center_queues", ("queue_extension",), "queue_context", None),
    Source("v_conferences", ("conference_extension",), "conference_context", "conference_enabled"),
    Source("v_conference_centers", ("conference_center_extension",), None, "conference_center_enabled"),
    Source("v_call_flows", ("call_flow_extension", "call_flow_feature_code"), "call_flow_context", "call_flow_enabled"),
    Source("v_dialplans", ("dialplan_number",), "dialplan_context", "dialplan_enabled", global_rows=True),
)


# What :meth:`PbxDirectory.dialplan_patterns` reads (FusionPBX 5.5's app/dialplans/app_config.php).
PATTERN_COLUMNS = {
    "v_dialplans": {"dialplan_uuid", "domain_uuid", "dialplan_context", "dialplan_enabled", "dialplan_continue"},
    "v_dialplan_details": {
        "dialplan_uuid",
        "dialplan_detail_tag",
        "dialplan_detail_type",
        "dialplan_detail_data",
        "dialplan_detail_enabled",
    },
}


class PbxDirectory:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def usable_sources(self) -> tuple[list[Source], list[str]]:
        """The sources whose table and columns exist here, and the names of those that do not (a partial
        install): with any missing, a destination not found may still exist, so nothing can be refused."""
        rows = await self.session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ANY(:tables)"
            ),
            {"tables": sorted({s.table for s in SOURCES} | set(PATTERN_COLUMNS))},
        )
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(str(table), set()).add(str(column))
        usable: list[Source] = []
        missing: list[Source] = []
        for source in SOURCES:
            needed = {"domain_uuid", *source.numbers, *(c for c in (source.context, source.enabled) if c)}
            (usable if needed <= columns.get(source.table, set()) else missing).append(source)
        lacking = [f"{t} (patterns)" for t, needed in PATTERN_COLUMNS.items() if not needed <= columns.get(t, set())]
        return usable, [s.table for s in missing] + lacking

    @staticmethod
    def _pairs(source: Source) -> str:
        """SELECT (number, context) of one source for :domain (domain name as :domain_name)."""
        context = source.context or ":domain_name"
        scope = "(domain_uuid = :domain OR domain_uuid IS NULL)" if source.global_rows else "domain_uuid = :domain"
        enabled = f" AND lower(CAST({source.enabled} AS text)) IN ('true', 't')" if source.enabled else ""
        return " UNION ALL ".join(
            f"SELECT {number} AS number, {context} AS context FROM {source.table} WHERE {scope}{enabled}"  # noqa: S608
            for number in source.numbers
        )

    async def routes(
        self, sources: list[Source], domain_uuid: uuid.UUID, domain_name: str, destination: str, context: str
    ) -> bool:
        """Whether ``destination`` in ``context`` is one of the domain's enabled destinations."""
        union = " UNION ALL ".join(self._pairs(s) for s in sources)
        found = await self.session.scalar(
            text(f"SELECT EXISTS (SELECT 1 FROM ({union}) AS d WHERE number = :number AND context = :context)"),  # noqa: S608
            {"domain": domain_uuid, "domain_name": domain_name, "number": destination, "context": context},
        )
        return bool(found)

    async def routing(
        self, sources: list[Source], domain_uuid: uuid.UUID, domain_name: str, pairs: set[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of the (destination, context) ``pairs`` are among the domain's enabled destinations (one query)."""
        if not pairs:
            return set()
        union = " UNION ALL ".join(self._pairs(s) for s in sources)
        numbers = sorted({number for number, _ in pairs})
        rows = await self.session.execute(
            text(f"SELECT DISTINCT number, context FROM ({union}) AS d WHERE number = ANY(:numbers)"),  # noqa: S608
            {"domain": domain_uuid, "domain_name": domain_name, "numbers": numbers},
        )
        return {(str(number), str(context)) for number, context in rows} & pairs

    async def contexts(self, sources: list[Source], domain_uuid: uuid.UUID, domain_name: str) -> set[str]:
        """Every context the domain's destinations live in (its name, ``public`` when it has inbound routes…): of
        rows with a number, as FusionPBX's pickers list them. ``global`` (and the literal ``${domain_name}``) hold
        FusionPBX's shared dialplan entries, which every domain context loads: they are not a context to send a
        caller to."""
        union = " UNION ALL ".join(self._pairs(s) for s in sources)
        rows = await self.session.scalars(
            text(
                f"SELECT DISTINCT context FROM ({union}) AS d WHERE context IS NOT NULL AND context <> ''"  # noqa: S608
                " AND number IS NOT NULL AND number <> '' AND context NOT IN ('global', '${domain_name}')"
            ),
            {"domain": domain_uuid, "domain_name": domain_name},
        )
        return {str(c) for c in rows} | {domain_name}

    async def dialplan_patterns(self, domain_uuid: uuid.UUID, contexts: set[str]) -> dict[str, set[str]]:
        """The ``destination_number`` expressions of the enabled dialplans of the domain (or global ones) in
        ``contexts``, by context: each is a dialplan that routes the numbers it matches (an outbound route, a
        feature code). Entries with ``continue="true"`` are left out: FusionPBX's variable setters match every
        number and route nowhere. Only enabled condition details count (FusionPBX treats a missing flag as
        enabled)."""
        if not contexts:
            return {}
        rows = await self.session.execute(
            text(
                "SELECT DISTINCT d.dialplan_context, x.dialplan_detail_data"
                " FROM v_dialplans d JOIN v_dialplan_details x ON x.dialplan_uuid = d.dialplan_uuid"
                " WHERE (d.domain_uuid = :domain OR d.domain_uuid IS NULL) AND d.dialplan_context = ANY(:contexts)"
                " AND lower(CAST(d.dialplan_enabled AS text)) IN ('true', 't')"
                " AND lower(coalesce(CAST(d.dialplan_continue AS text), 'false')) NOT IN ('true', 't')"
                " AND x.dialplan_detail_tag = 'condition' AND x.dialplan_detail_type = 'destination_number'"
                " AND (x.dialplan_detail_enabled IS NULL"
                " OR lower(CAST(x.dialplan_detail_enabled AS text)) IN ('true', 't'))"
                " AND x.dialplan_detail_data IS NOT NULL"
            ),
            {"domain": domain_uuid, "contexts": sorted(contexts)},
        )
        found: dict[str, set[str]] = {}
        for context, expression in rows:
            found.setdefault(str(context), set()).add(str(expression))
        return found
