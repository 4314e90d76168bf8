"""Encryption of Rakuten tokens at rest (Fernet keys from `TOKEN_ENCRYPTION_KEY`).

With several keys (a `MultiFernet`) the first encrypts and every one decrypts, so
tokens written under an older key stay readable while `rakuten-worker rotate-key`
re-encrypts them under the first.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

UNREADABLE = (
    "a stored token cannot be decrypted with any key of TOKEN_ENCRYPTION_KEY: "
    "was a key removed before rakuten-worker rotate-key re-encrypted the tokens?"
)


class TokenDecryptError(Exception):
    """Raised when a stored token cannot be decrypted with any configured key."""


class TokenCipher:
    """Encrypts tokens before they are stored and decrypts them only to call Rakuten."""

    def __init__(self, fernet: Fernet | MultiFernet) -> None:
        self._fernet = fernet

    def __repr__(self) -> str:
        return "TokenCipher(***)"

    def encrypt(self, token: str) -> bytes:
        """Return the token encrypted with the first key."""
        return self._fernet.encrypt(token.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """Return the plaintext token, or raise `TokenDecryptError` (saying nothing of it)."""
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError(UNREADABLE) from None

    def rotate(self, blob: bytes) -> bytes:
        """Return the same token encrypted with the first key; raise `TokenDecryptError` if unreadable."""
        if isinstance(self._fernet, Fernet):
            return self.encrypt(self.decrypt(blob))
        try:
            return self._fernet.rotate(bytes(blob))
        except InvalidToken:
            raise TokenDecryptError(UNREADABLE) from None
