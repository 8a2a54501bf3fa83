"""A tamper-evident audit chain: each record's hash covers its content and the previous record's hash, so
changing, removing or reordering any record breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(previous_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous_hash + "\n" + canonical(fields)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainRecord:
    seq: int
    fields: Mapping[str, Any]
    previous_hash: str
    hash: str


def verify_chain(records: Iterable[ChainRecord]) -> list[int]:
    """Sequence numbers of records whose hash or link does not hold (empty when the chain is intact)."""
    broken: list[int] = []
    expected_previous = GENESIS
    expected_seq = 1
    for record in records:
        if (
            record.seq != expected_seq
            or record.previous_hash != expected_previous
            or chain_hash(record.previous_hash, record.fields) != record.hash
        ):
            broken.append(record.seq)
        expected_previous = record.hash
        expected_seq = record.seq + 1
    return broken
