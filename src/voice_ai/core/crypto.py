"""Encryption of secrets at rest (provider API keys, webhook secrets).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) and stored as
``enc:v1:<token>``. The key comes from ``VOICE_AI_SECRET_KEY`` (comma-separated for rotation: the first
key encrypts, every key decrypts) or from a key file created with mode 0600 on first run.
A ``VOICE_AI_SECRET_KEY`` that is not a Fernet key is treated as a passphrase and stretched with
HKDF-SHA256, so operators can use any long random string.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from voice_ai.core.logging import register_secret

PREFIX = "enc:v1:"


class SecretKeyError(RuntimeError):
    """The configured key cannot decrypt a stored secret, or the key file is unusable."""


def _as_fernet(raw: str) -> Fernet:
    raw = raw.strip()
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return Fernet(raw.encode())
    except (binascii.Error, ValueError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"voice-ai-ivr", info=b"secrets-at-rest")
    return Fernet(base64.urlsafe_b64encode(derived.derive(raw.encode())))


def load_or_create_key_file(path: Path) -> str:
    """Return the key stored in ``path``, creating it (mode 0600, exclusive create) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise SecretKeyError(f"secret key file {path} is empty; restore it from backup") from None
        return key
    with os.fdopen(fd, "w") as handle:
        key = Fernet.generate_key().decode()
        handle.write(key + "\n")
    return key


class SecretBox:
    """Encrypts and decrypts single string values; knows nothing about where they are stored."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError("at least one secret key is required")
        self._fernet = MultiFernet([_as_fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, secret_key: str | None, key_file: Path) -> SecretBox:
        if secret_key:
            return cls([k for k in secret_key.split(",") if k.strip()])
        return cls([load_or_create_key_file(key_file)])

    @staticmethod
    def is_encrypted(value: object) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def encrypt(self, plaintext: str) -> str:
        register_secret(plaintext)
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not self.is_encrypted(stored):
            # Written before encryption existed or by hand: usable, and re-encrypted on next save.
            register_secret(stored)
            return stored
        try:
            plaintext = self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with the configured VOICE_AI_SECRET_KEY / key file; "
                "restore the original key (add the new one after it, comma-separated, to rotate)"
            ) from None
        register_secret(plaintext)
        return plaintext


def mask_secret(plaintext: str) -> str:
    """Show enough of a secret to recognise it (``sk-…abcd``), never enough to use it."""
    if len(plaintext) >= 20:
        return f"{plaintext[:3]}…{plaintext[-4:]}"
    if len(plaintext) >= 12:
        return f"…{plaintext[-4:]}"
    if len(plaintext) >= 8:
        return f"…{plaintext[-2:]}"
    return "…"
