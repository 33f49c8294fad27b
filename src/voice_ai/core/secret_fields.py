"""Secret fields inside provider configuration documents (JSONB).

A field is secret when its name looks like a credential (``api_key``, ``token``, ``password``, …) or
when the caller names it explicitly (provider config schemas flag their secret fields). Secret values
are stored encrypted, shown masked, and kept when an update omits them or sends the mask back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from voice_ai.core.crypto import SecretBox, mask_secret

_SECRET_NAME = re.compile(
    r"(?i)(^|_)(api_?key|key|secret|token|password|passwd|credentials?|private_key|access_key)($|_)"
)


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    return name in set(extra) or bool(_SECRET_NAME.search(name))


def encrypt_config(config: Mapping[str, Any], box: SecretBox, extra: Iterable[str] = ()) -> dict[str, Any]:
    """Return a copy of ``config`` with every secret string encrypted (nested objects included)."""
    extra = tuple(extra)
    out: dict[str, Any] = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            out[name] = encrypt_config(value, box, extra)
        elif isinstance(value, str) and value and is_secret_name(name, extra) and not box.is_encrypted(value):
            out[name] = box.encrypt(value)
        else:
            out[name] = value
    return out


def decrypt_config(stored: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """Plaintext config for a provider instance. Never return this from the API or log it."""
    out: dict[str, Any] = {}
    for name, value in stored.items():
        if isinstance(value, Mapping):
            out[name] = decrypt_config(value, box)
        elif box.is_encrypted(value):
            out[name] = box.decrypt(value)
        else:
            out[name] = value
    return out


def mask_config(stored: Mapping[str, Any], box: SecretBox, extra: Iterable[str] = ()) -> dict[str, Any]:
    """Config as shown to admins: secrets replaced by their mask."""
    extra = tuple(extra)
    out: dict[str, Any] = {}
    for name, value in stored.items():
        if isinstance(value, Mapping):
            out[name] = mask_config(value, box, extra)
        elif box.is_encrypted(value) or (isinstance(value, str) and value and is_secret_name(name, extra)):
            out[name] = mask_secret(box.decrypt(value))
        else:
            out[name] = value
    return out


def merge_config(
    stored: Mapping[str, Any], patch: Mapping[str, Any], box: SecretBox, extra: Iterable[str] = ()
) -> dict[str, Any]:
    """JSON merge patch (RFC 7396) of a stored config, aware of secrets.

    ``null`` removes a key; an omitted key is kept; a secret whose new value equals the mask of the
    stored one (a form that echoed what it was shown) keeps the stored secret.
    """
    extra = tuple(extra)
    out = dict(stored)
    for name, value in patch.items():
        current = stored.get(name)
        if value is None:
            out.pop(name, None)
        elif isinstance(value, Mapping):
            base = current if isinstance(current, Mapping) else {}
            out[name] = merge_config(base, value, box, extra)
        elif (
            isinstance(value, str)
            and isinstance(current, str)
            and (box.is_encrypted(current) or is_secret_name(name, extra))
            and value == mask_secret(box.decrypt(current))
        ):
            out[name] = current
        else:
            out[name] = value
    return encrypt_config(out, box, extra)
