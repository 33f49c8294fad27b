"""The API's rules for tools, between the routes and the repository: header values encrypted on the way in (every
value: the service cannot tell a key from an ordinary header, so it treats all as secrets) and masked on the way
out; a partial update keeps the URL's placeholders consistent with the parameters.

Header values are write-only, and bound to where they were meant to go: an update that moves the URL to another
origin (scheme, host or port) drops every stored header value that the same update does not send again in clear
(an omitted header, or its mask sent back, is dropped) — else pointing the URL at an echo service and pressing
*Test* would read the secrets back."""

from __future__ import annotations

from typing import Any

import httpx

from voice_ai.core.errors import FieldError
from voice_ai.core.secret_fields import encrypt_config, is_echoed_mask, mask_config, merge_config
from voice_ai.db.models import Tool
from voice_ai.schemas.tools import check_placeholders
from voice_ai.services.hooks import Context
from voice_ai.tools.executor import origin


def _moved(old: str, new: str) -> bool:
    try:
        return origin(old) != origin(new)
    except (httpx.InvalidURL, ValueError):  # an unreadable URL counts as another origin
        return True


async def prepare_tool(ctx: Context, values: dict[str, Any], row: Tool | None) -> dict[str, Any]:
    if row is not None and values.get("url") and row.headers and _moved(row.url, values["url"]):
        sent = values.get("headers") or {}
        fresh = {
            name: value
            for name, value in sent.items()
            if value is not None and not is_echoed_mask(ctx.box, value, row.headers.get(name))
        }
        values["headers"] = encrypt_config(fresh, ctx.box, fresh)
    elif "headers" in values or row is None:
        patch = values.get("headers") or {}
        names = set(patch) | set(row.headers if row else {})
        values["headers"] = (
            merge_config(row.headers, patch, ctx.box, names) if row else encrypt_config(patch, ctx.box, names)
        )
    if row is None or "url" in values or "parameters" in values:
        url = values.get("url") or (row.url if row else "")
        parameters = values.get("parameters") or (row.parameters if row else {})
        try:
            check_placeholders(url, parameters)
        except ValueError as exc:
            raise FieldError("url", str(exc)) from None
    return values


def present_tool(ctx: Context, row: Tool) -> dict[str, Any]:
    data = {c.key: getattr(row, c.key) for c in Tool.__table__.columns}
    data["headers"] = mask_config(row.headers or {}, ctx.box)
    return data
