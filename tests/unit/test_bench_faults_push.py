"""The push fault scenario's counts: repeats a key lets a receiver drop are not doubles;
unkeyed repeats are; a key that never arrived is lost."""

from __future__ import annotations

from bench.faults_push import count
from linli.webhook import Delivery


def keyed(key: str) -> Delivery:
    return Delivery("/w", {"title": "t", "message": key}, {"idempotency-key": key})


def test_a_repeat_with_its_key_is_a_repeat_not_a_double() -> None:
    counts = count([keyed("N-1"), keyed("N-2"), keyed("N-2")], {"N-1", "N-2", "N-3"},
                   sent=2, unknown=1)
    assert counts.line("push-crash") == (
        "fault=push-crash sent=2 received=3 distinct_keys=2 doubled=0 lost=1 repeats=1 "
        "unknown=1")


def test_the_same_push_twice_without_a_key_is_doubled() -> None:
    same = Delivery("/w", {"title": "t", "message": "m"})
    counts = count([same, same, Delivery("/w", {"title": "t", "message": "other"})], set(),
                   sent=2, unknown=0)
    assert (counts.received, counts.distinct_keys, counts.doubled, counts.lost) == (3, 0, 1, 0)
