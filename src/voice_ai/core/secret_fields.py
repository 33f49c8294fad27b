"""Secret fields inside provider configuration documents (JSONB).

A field is secret when one of the words of its name (snake_case, camelCase or kebab-case) names a credential
(``api_key``, ``clientSecret``, ``x-api-key``, ``Authorization``, …) or when the caller names it explicitly
(provider config schemas flag their secret fields). Lists and nested objects are walked. Secret values are
stored encrypted, shown masked, and kept when an update omits them or sends the mask back.

Every value that arrives from a client is treated as plaintext, even one that looks like our ciphertext:
a client must not be able to plant another row's encrypted secret.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from voice_ai.core.crypto import SecretBox, SecretKeyError, mask_secret

_SECRET_WORDS = frozenset(
    {
        "apikey",
        "apikeys",
        "key",
        "keys",
        "secret",
        "secrets",
        "token",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "authorization",
        "bearer",
        "privatekey",
        "accesskey",
        "sas",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
UNDECRYPTABLE = "(cannot decrypt with the current key: enter this secret again)"


def _words(name: str) -> list[str]:
    parts = [p.lower() for p in re.split(r"[^A-Za-z0-9]+", _CAMEL.sub("_", name)) if p]
    # "api_key" and "apiKey" both yield the joined pair "apikey"
    return parts + [a + b for a, b in itertools.pairwise(parts)]


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    return name in set(extra) or any(word in _SECRET_WORDS for word in _words(name))


def _encrypt_value(value: Any, box: SecretBox, extra: tuple[str, ...]) -> Any:
    """Encrypt everything under a secret name (strings, numbers, lists of them)."""
    if value is None or value == "":
        return value
    if isinstance(value, Mapping):
        return {k: _encrypt_value(v, box, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [_encrypt_value(v, box, extra) for v in value]
    return box.encrypt(str(value))


def encrypt_config(config: Mapping[str, Any], box: SecretBox, extra: Iterable[str] = ()) -> dict[str, Any]:
    """Copy of a client-supplied config with every secret encrypted (nested objects and lists included)."""
    extra = tuple(extra)

    def walk(value: Any, secret: bool) -> Any:
        if secret:
            return _encrypt_value(value, box, extra)
        if isinstance(value, Mapping):
            return {k: walk(v, is_secret_name(k, extra)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, False) for v in value]
        return value

    result: dict[str, Any] = walk(dict(config), False)
    return result


def _map_stored(value: Any, leaf: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _map_stored(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_stored(v, leaf) for v in value]
    return leaf(value)


def decrypt_config(stored: Mapping[str, Any], box: SecretBox, *, lenient: bool = False) -> dict[str, Any]:
    """Plaintext config for a provider instance. Never return this from the API or log it.
    ``lenient`` (schema checks only) puts the marker in place of a secret the key cannot decrypt."""

    def leaf(value: Any) -> Any:
        if not box.is_encrypted(value):
            return value
        try:
            return box.decrypt(value)
        except SecretKeyError:
            if lenient:
                return UNDECRYPTABLE
            raise

    result: dict[str, Any] = _map_stored(stored, leaf)
    return result


def safe_mask(box: SecretBox, stored: str) -> str:
    """The mask of a stored secret; a marker (not an error) when the current key cannot decrypt it."""
    try:
        return mask_secret(box.decrypt(stored))
    except SecretKeyError:
        return UNDECRYPTABLE


def mask_config(stored: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """Config as shown to admins: every encrypted value replaced by its mask."""
    result: dict[str, Any] = _map_stored(stored, lambda v: safe_mask(box, v) if box.is_encrypted(v) else v)
    return result


def is_echoed_mask(box: SecretBox, new: Any, stored: Any) -> bool:
    """True when ``new`` is what we displayed for ``stored`` (a form sending the mask back)."""
    if not isinstance(new, str) or not box.is_encrypted(stored):
        return False
    if "…" not in new and new != UNDECRYPTABLE:
        return False
    return new == safe_mask(box, stored)


def merge_config(
    stored: Mapping[str, Any], patch: Mapping[str, Any], box: SecretBox, extra: Iterable[str] = ()
) -> dict[str, Any]:
    """JSON merge patch (RFC 7396) of a stored config, aware of secrets.

    ``null`` removes a key; an omitted key is kept as stored; a secret whose new value equals the mask of the
    stored one keeps the stored secret; anything else from the patch is new plaintext and is encrypted.
    """
    extra = tuple(extra)
    out = dict(stored)
    for name, value in patch.items():
        current = stored.get(name)
        if value is None:
            out.pop(name, None)
        elif isinstance(value, Mapping) and not is_secret_name(name, extra):
            base = current if isinstance(current, Mapping) else {}
            out[name] = merge_config(base, value, box, extra)
        elif is_echoed_mask(box, value, current):
            out[name] = current
        else:
            out[name] = encrypt_config({name: value}, box, extra)[name]
    return out
