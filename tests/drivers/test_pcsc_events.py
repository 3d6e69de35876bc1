"""Card insert/remove events from drivers/pcsc_watch.py, observed through pcscd + vpcd."""

from __future__ import annotations

import contextlib
import queue

import pytest

from drivers.pcsc_watch import CardEvent, card_events, watch_cards
from drivers.vpcd import DEFAULT_ATR

pytestmark = pytest.mark.pcsc

READER = "Virtual PCD 00 00"


def _next(events: queue.Queue, reader: str = READER, timeout: float = 10.0) -> CardEvent:
    while True:
        event = events.get(timeout=timeout)
        if event.reader == reader:
            return event


def test_insert_and_remove_are_reported(virtual_card, fake_card):
    events: queue.Queue[CardEvent] = queue.Queue()
    watcher = watch_cards(events.put)
    try:
        card, reader = virtual_card(fake_card)
        assert _next(events) == CardEvent("inserted", READER, DEFAULT_ATR)
        card.remove()
        assert _next(events) == CardEvent("removed", READER)
        card.insert()
        assert _next(events) == CardEvent("inserted", READER, DEFAULT_ATR)
    finally:
        watcher.stop()
    assert not watcher._thread.is_alive()


def test_card_present_at_start_is_reported_only_when_asked(virtual_card, fake_card):
    card, _reader = virtual_card(fake_card)
    with contextlib.closing(card_events(timeout_s=10)) as events_iter:
        first = next(events_iter)
    assert first == CardEvent("inserted", READER, DEFAULT_ATR)

    events: queue.Queue[CardEvent] = queue.Queue()
    watcher = watch_cards(events.put, initial=False)
    try:
        card.remove()
        assert _next(events) == CardEvent("removed", READER)
    finally:
        watcher.stop()


def test_event_iterator_ends_after_quiet_period(virtual_card):
    # no card anywhere: nothing to report, and the iterator stops on its own
    assert [e for e in card_events(timeout_s=1.0) if e.reader == READER] == []


def test_event_as_dict_for_sse():
    assert CardEvent("inserted", READER, b"\x3b\x80").as_dict() == {
        "kind": "inserted", "reader": READER, "atr": "3B80"}


def test_state_transitions_including_a_missed_remove_and_reinsert():
    # pcsc-lite counts card events in the upper 16 bits of the reader state: a card pulled
    # and put back between two polls shows as "present" twice, with the count up by two
    from smartcard import scard

    from drivers.pcsc_watch import CardWatcher

    seen: list[CardEvent] = []
    w = CardWatcher(seen.append)
    known: dict = {}
    present, empty = scard.SCARD_STATE_PRESENT, scard.SCARD_STATE_EMPTY
    w._update(known, "R", (1 << 16) | present, b"\x3b\x01", first=True)
    w._update(known, "R", (1 << 16) | present, b"\x3b\x01", first=False)  # nothing new
    w._update(known, "R", (3 << 16) | present, b"\x3b\x01", first=False)  # out and in again
    w._update(known, "R", (4 << 16) | empty, b"", first=False)
    w._update(known, "R", (5 << 16) | present, b"\x3b\x02", first=False)
    w._update(known, "R", (5 << 16) | present, b"\x3b\x03", first=False)  # another card's ATR
    assert [(e.kind, e.atr) for e in seen] == [
        ("inserted", b"\x3b\x01"), ("removed", b""), ("inserted", b"\x3b\x01"), ("removed", b""),
        ("inserted", b"\x3b\x02"), ("removed", b""), ("inserted", b"\x3b\x03")]

    quiet: list[CardEvent] = []
    w = CardWatcher(quiet.append, initial=False)
    w._update({}, "R", (1 << 16) | present, b"\x3b\x01", first=True)
    assert quiet == []
