"""Open the card transport a reader spec names; describe the readers attached.

Specs (setting ``reader.name``):

``emulator``            the in-process emulated chip made by ``emulator_factory``
``pcsc`` / ``pcsc:NAME`` the first PC/SC reader / the one named NAME (or starting with it)
``nfc`` / ``nfc:DEVICE`` an nfcpy reader: ``nfc`` = ``nfc:usb``; DEVICE is an nfcpy path
                        such as ``usb``, ``usb:072f:2200``, ``udp:127.0.0.1:54321``
``auto``                the first PC/SC reader that holds a card (waiting on all of
                        them; vsmartcard's virtual readers only when they hold a card),
                        else an NFC reader on USB; :class:`NoReaderError` when there is
                        neither (the service then falls back to demo mode)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from smartcard import scard

from drivers import pcsc
from verifier.errors import ConfigError, NoCardError, NoReaderError, TransportError
from verifier.transport import CardTransport

log = logging.getLogger(__name__)

SPEC_KINDS = ("auto", "emulator", "pcsc", "nfc")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"pcsc:NAME"`` -> ``("pcsc", "NAME")``; ``"nfc"`` -> ``("nfc", "usb")``."""
    spec = (spec or "").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind not in SPEC_KINDS:
        raise ConfigError(
            f"reader spec {spec!r}: expected auto, emulator, pcsc, pcsc:NAME, nfc or nfc:DEVICE"
        )
    if kind in ("auto", "emulator") and arg:
        raise ConfigError(f"reader spec {spec!r}: {kind!r} takes no argument")
    if kind == "nfc":
        return kind, arg or "usb"
    return kind, arg or None


def open_transport(spec: str, *, emulator_factory: Callable[[], Any] | None = None,
                   timeout_s: float = 30.0) -> CardTransport:
    """Open the transport named by ``spec``, waiting up to ``timeout_s`` for a card.

    ``emulator_factory`` returns either a ready :class:`CardTransport` or an APDU
    processor (``process(apdu) -> rapdu``, ``reset()``) that is then used in-process.
    """
    kind, arg = parse_spec(spec)
    if kind == "emulator":
        if emulator_factory is None:
            raise ConfigError("reader spec 'emulator' needs an emulator factory (demo mode)")
        made = emulator_factory()
        if hasattr(made, "transmit"):
            return made
        if hasattr(made, "process"):
            from drivers.emulator.transport import EmulatorTransport

            return EmulatorTransport(made)
        raise ConfigError(f"emulator factory returned {type(made).__name__}: expected a transport or APDU processor")
    if kind == "pcsc":
        return pcsc.PcscTransport(arg, wait_s=timeout_s)
    if kind == "nfc":
        from drivers.nfc import NfcTransport  # nfcpy imports are slow; only when asked

        return NfcTransport(arg or "usb", wait_s=timeout_s)
    return _open_auto(timeout_s)


def _open_auto(timeout_s: float) -> CardTransport:
    try:
        readers = pcsc.list_readers()
    except NoReaderError as e:
        log.info("PC/SC unavailable (%s); trying NFC", e)
        readers = []
    # The test stack's virtual readers (vsmartcard vpcd) count only while they hold a card:
    # an idle "Virtual PCD" on a developer machine must not stop the fallback to demo mode.
    readers = [r for r in readers if not pcsc.is_virtual(r) or pcsc.card_present(r)]
    if readers:
        return pcsc.PcscTransport(_wait_any_card(readers, timeout_s), wait_s=0)
    from drivers.nfc import NfcTransport, find_usb_readers

    usb = [r for r in find_usb_readers() if r["accessible"]]
    if not usb:
        raise NoReaderError(
            "no card reader: expected a PC/SC reader (pcscd) or an NFC reader on USB, found neither",
            step="open reader",
        )
    return NfcTransport(usb[0]["path"], wait_s=timeout_s)


def _wait_any_card(readers: list[str], timeout_s: float) -> str:
    """The first of ``readers`` that holds a card, waiting up to ``timeout_s``."""
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != 0:
        raise NoReaderError(f"the PC/SC service stopped: {scard.SCardGetErrorMessage(hr)}", step="wait for card")
    try:
        deadline = time.monotonic() + timeout_s
        states = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        while True:
            remaining = max(0, int((deadline - time.monotonic()) * 1000))
            hr, result = scard.SCardGetStatusChange(ctx, remaining, states)
            if hr == 0:
                for reader, state, _atr in result:
                    if state & scard.SCARD_STATE_PRESENT and not state & scard.SCARD_STATE_MUTE:
                        return reader
                states = [(r, s & ~scard.SCARD_STATE_CHANGED) for r, s, _a in result]
            elif hr & 0xFFFFFFFF != 0x8010000A:  # SCARD_E_TIMEOUT
                raise TransportError(f"waiting for a card failed: {scard.SCardGetErrorMessage(hr)}",
                                     step="wait for card")
            if time.monotonic() >= deadline:
                raise NoCardError(
                    f"no card was presented to any PC/SC reader ({', '.join(readers)}) within {timeout_s:g} s",
                    step="wait for card",
                )
    finally:
        scard.SCardReleaseContext(ctx)


def describe_readers(*, nfc_usb: bool = True) -> list[dict]:
    """The readers attached now, for status pages and ``chipid readers``.

    Each: ``{"spec", "kind", "name", "virtual", "card_present", "atr"}`` (atr hex or
    ``None``; ``virtual`` marks vsmartcard's test readers).
    NFC readers on USB (those nfcpy drives) are listed when ``nfc_usb``, without opening them;
    their ``card_present`` is ``None`` (unknown without switching the field on).
    """
    found: list[dict] = []
    try:
        names = pcsc.list_readers()
    except (NoReaderError, TransportError) as e:
        log.info("PC/SC unavailable: %s", e)
        names = []
    if names:
        by_name: dict[str, tuple[int, bytes]] = {}
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr == 0:
            try:
                hr, states = scard.SCardGetStatusChange(ctx, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
                if hr == 0:
                    by_name = {r: (s, bytes(a)) for r, s, a in states}
            finally:
                scard.SCardReleaseContext(ctx)
        for name in names:
            state, atr = by_name.get(name, (0, b""))
            present = bool(state & scard.SCARD_STATE_PRESENT)
            found.append({
                "spec": f"pcsc:{name}", "kind": "pcsc", "name": name, "virtual": pcsc.is_virtual(name),
                "card_present": present, "atr": atr.hex().upper() if present and atr else None,
            })
    if nfc_usb:
        from drivers.nfc import find_usb_readers

        for r in find_usb_readers():
            found.append({
                "spec": f"nfc:{r['path']}", "kind": "nfc", "name": f"{r['driver']} usb:{r['vid']}:{r['pid']}",
                "virtual": False, "card_present": None, "atr": None,
            })
    return found
