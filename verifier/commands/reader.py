"""``chipid reader``: the card readers attached, their card events, and the emulated CCCD
put into a real reader stack (vsmartcard's virtual PC/SC reader, or nfcpy's UDP link).

    chipid reader list [--json]
    chipid reader events
    chipid reader emulate                      # demo card in "Virtual PCD 00 00" (pcscd + vpcd)
    chipid reader emulate --nfc udp:127.0.0.1:54321 --type B
    chipid read --reader "pcsc:Virtual PCD 00 00" --can 001234    # in another terminal
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from drivers.vpcd import VPCD_PORT
from verifier.errors import ChipidError


@click.group("reader")
def reader() -> None:
    """Đầu đọc thẻ / card readers (PC/SC, NFC) and the emulated card."""


@reader.command("list")
@click.option("--no-nfc", is_flag=True, help="Do not probe NFC readers on USB.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(no_nfc: bool, as_json: bool) -> None:
    """List the attached readers and whether each holds a card."""
    from drivers.open import describe_readers

    found = describe_readers(nfc_usb=not no_nfc)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("Không có đầu đọc / no reader attached (PC/SC: is pcscd running?)")
        return
    for r in found:
        card = {True: "card " + (r["atr"] or ""), False: "no card", None: "?"}[r["card_present"]]
        mark = " (virtual)" if r.get("virtual") else ""
        click.echo(f"{r['spec']}{mark}\t{card}")


def _stop_on_signals() -> None:
    """Make Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt here. A program started in the background by a
    non-interactive shell inherits SIGINT *ignored* (POSIX), and Python then leaves it ignored: such a
    ``reader emulate`` never stopped, and its card stayed in the virtual slot."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


@reader.command("events")
def events_cmd() -> None:
    """Print PC/SC card insert/remove events until interrupted (Ctrl-C)."""
    from drivers.pcsc_watch import card_events

    _stop_on_signals()
    try:
        for event in card_events():
            click.echo(json.dumps(event.as_dict()))
    except KeyboardInterrupt:
        pass


@reader.command("emulate")
@click.option("--card", "card_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Card profile directory (default: the bundled demo card).")
@click.option("--vpcd-port", type=int, default=VPCD_PORT, show_default=True,
              help="vpcd port of the virtual PC/SC slot (35963 = 'Virtual PCD 00 00', 35964 = '... 00 01').")
@click.option("--nfc", "nfc_device", default=None,
              help="Instead of PC/SC: nfcpy udp path to emulate on, e.g. udp:127.0.0.1:54321.")
@click.option("--type", "technology", type=click.Choice(["A", "B"]), default="A", show_default=True,
              help="With --nfc: ISO/IEC 14443 type A or B.")
def emulate_cmd(card_dir: Path | None, vpcd_port: int, nfc_device: str | None, technology: str) -> None:
    """Serve an emulated CCCD (TEST CARD, demo keys) in a reader until interrupted."""
    from drivers.emulator.personalise import make_chip
    from verifier.scan import DEMO_CARD_DIR

    try:
        chip = make_chip(card_dir or DEMO_CARD_DIR)
        if nfc_device:
            from drivers.nfc_card import NfcCard

            card = NfcCard(chip, nfc_device, technology=technology)
            where = f"nfc:{nfc_device} (type {technology})"
        else:
            from drivers.vpcd import VirtualCard

            card = VirtualCard(chip, port=vpcd_port)
            where = f"vpcd port {vpcd_port}"
        card.insert()
    except ChipidError as e:
        raise click.ClickException(str(e)) from e
    _stop_on_signals()  # before the line that says it is served: a stop sent as soon as it is read is not lost
    try:
        click.echo(f"THẺ THỬ NGHIỆM / TEST CARD served on {where}; Ctrl-C to remove it")
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
