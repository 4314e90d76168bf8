"""`rakuten-worker rotate-key`: re-encrypt every stored token with the first key.

Safe while the service runs: tokens are read and replaced in small batches, each
replacement a compare-and-set on the stored value, so a token that the merchant
changed meanwhile is never overwritten with the re-encrypted old one (it is read
again and rotated in a later round). Every process keeps decrypting throughout,
as long as it has both keys (new first, old after it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from db import tokens
from workers.boot import connect
from workers.crypto import TokenCipher, TokenDecryptError
from workers.settings import Settings

BATCH = 100  #: tokens read and replaced per statement (one short transaction each)
ROUNDS = 3  #: rounds for tokens that changed while being rotated


@dataclass
class Rotation:
    """What a rotation did."""

    rotated: int = 0
    #: integrations whose token no configured key decrypts (left as they are)
    unreadable: list[str] = field(default_factory=list)
    #: integrations whose token kept changing under the rotation (run it again)
    changing: list[str] = field(default_factory=list)


def rotate_tokens(conn: psycopg.Connection[Any], cipher: TokenCipher, *, batch: int = BATCH) -> Rotation:
    """Re-encrypt every stored token with the cipher's first key; `conn` must be in autocommit."""
    result = Rotation()
    after = ""
    retry: list[str] = []
    while rows := tokens.batch_after(conn, after, limit=batch):
        retry += _rotate(conn, cipher, rows, result)
        after = rows[-1][0]
    for _ in range(ROUNDS):
        if not retry:
            break
        again = [row for integration_id in retry if (row := tokens.get_one(conn, integration_id))]
        retry = _rotate(conn, cipher, again, result)
    result.changing = retry
    return result


def _rotate(
    conn: psycopg.Connection[Any], cipher: TokenCipher, rows: Sequence[tuple[str, bytes]], result: Rotation
) -> list[str]:
    """Rotate one batch; return the integrations whose token changed since it was read."""
    changes: list[tuple[str, bytes, bytes]] = []
    for integration_id, blob in rows:
        try:
            changes.append((integration_id, blob, cipher.rotate(blob)))
        except TokenDecryptError:
            result.unreadable.append(integration_id)
    stored = tokens.replace(conn, changes)
    result.rotated += len(stored)
    return [integration_id for integration_id, _, _ in changes if integration_id not in stored]


def rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    """The command: rotate, print what was done; exit 1 when some token was left behind."""
    cipher = TokenCipher(settings.require_token_key())
    with connect(settings, autocommit=True) as conn:
        result = rotate_tokens(conn, cipher, batch=args.batch)
    print(f"re-encrypted {result.rotated} token(s) with the first key of TOKEN_ENCRYPTION_KEY")
    if result.unreadable:
        print(
            f"rakuten-worker: {len(result.unreadable)} token(s) cannot be decrypted with any key, "
            f"left as they are: {', '.join(result.unreadable)}",
            file=sys.stderr,
        )
    if result.changing:
        print(
            f"rakuten-worker: {len(result.changing)} token(s) kept changing; run rotate-key again: "
            f"{', '.join(result.changing)}",
            file=sys.stderr,
        )
    return 1 if result.unreadable or result.changing else 0
