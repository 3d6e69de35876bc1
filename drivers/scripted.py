"""A scripted card: the one fake transport for tests that pin APDUs byte for byte.

ARCHITECTURE.md "fake only the edges": a :class:`verifier.transport.CardTransport` that
asserts each command APDU it is sent (ISO/IEC 7816-4 §5.1, the encoded command) and answers
the scripted response APDU (data || SW1 SW2). ICAO 9303-11 Appendix D (BAC) and Appendix G
(PACE) publish such exchanges; a test replays them through the real protocol code.

A script is a list of ``(expected_command, response)``; both may be bytes or hexadecimal text.
``expected_command=None`` accepts any command (hostile-chip fuzzing). After the script,
``when_done`` (if given) answers every further command; otherwise a further command is a
:class:`ScriptMismatch`. Protocol functions that take ``send(Command) -> Response`` get
:meth:`ScriptedTransport.send`.
"""

from __future__ import annotations

from collections.abc import Iterable

from verifier.icao.apdu import Command, Response

Bytes = bytes | bytearray | str


class ScriptMismatch(AssertionError):
    """The code under test sent a command other than the scripted one (a test failure)."""


def _bytes(value: Bytes) -> bytes:
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


class ScriptedTransport:
    """Asserts each command APDU and answers the scripted response; records what was sent."""

    def __init__(self, script: Iterable[tuple[Bytes | None, Bytes]], *, when_done: Bytes | None = None,
                 name: str = "scripted", extended_length: bool = True) -> None:
        self.script = [(None if c is None else _bytes(c), _bytes(r)) for c, r in script]
        self.when_done = None if when_done is None else _bytes(when_done)
        self.name = name
        self.extended_length = extended_length
        self.sent: list[bytes] = []
        self.closed = False

    @property
    def count(self) -> int:
        """Commands sent so far."""
        return len(self.sent)

    def transmit(self, apdu: bytes) -> bytes:
        apdu = bytes(apdu)
        self.sent.append(apdu)
        if not self.script:
            if self.when_done is not None:
                return self.when_done
            raise ScriptMismatch(f"command {len(self.sent)}: unexpected extra command {apdu.hex().upper()}")
        expected, answer = self.script.pop(0)
        if expected is not None and apdu != expected:
            raise ScriptMismatch(f"command {len(self.sent)}: expected {expected.hex().upper()}, "
                                 f"found {apdu.hex().upper()}")
        return answer

    def send(self, cmd: Command) -> Response:
        """``send(Command) -> Response`` over :meth:`transmit` (commands encoded as they choose)."""
        return Response.parse(self.transmit(cmd.encode()))

    def assert_done(self) -> None:
        """Every scripted exchange took place."""
        if self.script:
            raise ScriptMismatch(f"{len(self.script)} scripted commands never sent, the next one "
                                 f"{'(any)' if self.script[0][0] is None else self.script[0][0].hex().upper()}")

    def close(self) -> None:
        self.closed = True
