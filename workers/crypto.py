"""Encryption of Rakuten tokens at rest (Fernet, from `TOKEN_ENCRYPTION_KEY`)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class TokenDecryptError(Exception):
    """Raised when a stored token cannot be decrypted with the configured key."""


class TokenCipher:
    """Encrypts tokens before they are stored and decrypts them only to call Rakuten."""

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    def __repr__(self) -> str:
        return "TokenCipher(***)"

    def encrypt(self, token: str) -> bytes:
        """Return the encrypted token."""
        return self._fernet.encrypt(token.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """Return the plaintext token, or raise `TokenDecryptError` (saying nothing of it)."""
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError(
                "a stored token cannot be decrypted: was TOKEN_ENCRYPTION_KEY changed?"
            ) from None
