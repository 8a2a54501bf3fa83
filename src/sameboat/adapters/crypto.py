"""Encryption at rest for message bodies and other words people write (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``SAMEBOAT_DATA_KEYS`` (comma-separated Fernet keys, newest first, so keys can be
rotated) or, when unset, is derived from ``SAMEBOAT_SECRET_KEY`` with HKDF.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class CannotDecrypt(Exception):
    """Stored text was written with a key this deployment no longer has."""


def derive_key(secret: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sameboat-data-at-rest", info=b"fernet-v1").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw)


class FieldCipher:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, secret_key: str, data_keys: str | None) -> FieldCipher:
        keys = [k.strip().encode() for k in (data_keys or "").split(",") if k.strip()]
        return cls(keys or [derive_key(secret_key)])

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken as exc:
            raise CannotDecrypt("stored text cannot be decrypted with the configured keys") from exc
