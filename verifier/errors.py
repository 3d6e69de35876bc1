"""The one exception tree of chipid.

Every error the project raises on purpose is a subclass of :class:`ChipidError`.
Catch the narrowest class that fits; always ``raise ... from e`` when wrapping.
The tree below names every subclass in the project, also those defined beside the code that
raises them (module in brackets); ``tests/test_errors_tree.py`` keeps it complete.

::

    ChipidError
    ├── ConfigError                 a setting is missing, mistyped or inconsistent
    ├── InputError                  user-supplied input is unusable (CLI args, API payloads)
    │   ├── AccessKeyError          MRZ / ID number / QR text / CAN cannot yield an access key
    │   ├── NotFoundError           the record asked for does not exist
    │   ├── LoginLockedError        too many failed logins for a user name
    │   ├── ContractRefused         a contract or event breaks a rule (carries ``code``) [verifier.ledger.admission]
    │   ├── BadSearch               a search term that cannot be one (an ID number with letters) [verifier.ledger.pawn_search]
    │   ├── IdempotencyConflict     an Idempotency-Key reused with another body [verifier.ledger.idempotency]
    │   └── NotNext                 a police message that is not the next version to apply [verifier.ledger.holds]
    ├── TransportError              the reader or the link failed (I/O, not protocol)
    │   ├── NoReaderError           no reader attached, or the named one is absent
    │   ├── NoCardError             a reader but no card on it
    │   ├── CardRemovedError        the card left the field during an exchange
    │   └── ReaderBusyError         the reader is busy with another scan
    ├── ChipError                   the chip answered, but not as the protocol requires
    │   ├── StatusWordError         an unexpected status word (carries ``sw``)
    │   ├── AccessDeniedError       BAC / PACE authentication refused (wrong access key?)
    │   ├── SecureMessagingError    bad response MAC, missing or malformed DO87/DO99/DO8E
    │   └── ResponseFormatError     a response of the wrong length or shape
    ├── ParseError                  malformed data: TLV, ASN.1, MRZ, LDS files, QR text
    │   ├── TLVError
    │   ├── MRZError
    │   └── LimitExceededError      a hostile size, depth or count beyond the fixed limits
    ├── TrustError                  trust anchors cannot be loaded or are unverifiable
    ├── VerificationError           a cryptographic check could not even be attempted
    ├── BiometricsError
    │   ├── ImageError              corrupt, truncated, empty or oversized image
    │   └── CameraError             no camera, camera busy, black frames
    ├── LedgerError                 ledger storage or integrity problems
    │   ├── TamperError             the hash chain or a signature does not verify
    │   │   └── PhotoMismatch       an item photo that is not the one its delivered entry names [sync.backend.photos]
    │   └── LedgerFailedError       a write or fsync failed: the ledger takes no more writes
    └── SyncError                   delivery to / ingest at the police backend failed
        └── DeliveryError           one delivery attempt failed (``permanent``: content refused) [sync.relay]

Errors from the chip carry the protocol ``step`` ("BAC mutual authenticate",
"READ BINARY DG2", ...) and, where there is one, the status word ``sw``
(JMRTD style), so a log line says what was expected and what was found.
"""

from __future__ import annotations


class ChipidError(Exception):
    """Base class of every chipid error."""

    def __init__(self, message: str, *, step: str | None = None, sw: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step
        self.sw = sw

    def __str__(self) -> str:
        parts = []
        if self.step:
            parts.append(f"[{self.step}]")
        parts.append(self.message)
        if self.sw is not None:
            parts.append(f"(SW={self.sw:04X})")
        return " ".join(parts)


class ConfigError(ChipidError):
    """A setting is missing, mistyped or inconsistent."""


class InputError(ChipidError):
    """User-supplied input (CLI arguments, API payloads, files) is unusable."""


class AccessKeyError(InputError):
    """The MRZ, ID number, QR text or CAN cannot yield an access key."""


class NotFoundError(InputError):
    """The record asked for (contract, scan, user) does not exist."""


class LoginLockedError(InputError):
    """Too many failed logins for one user name: further attempts are refused for a while."""


class TransportError(ChipidError):
    """The reader or the link failed."""


class NoReaderError(TransportError):
    """No reader is attached, or the named reader is absent."""


class NoCardError(TransportError):
    """A reader is present but no card is on it."""


class CardRemovedError(TransportError):
    """The card left the reader's field during an exchange."""


class ReaderBusyError(TransportError):
    """The reader is busy with another scan."""


class ChipError(ChipidError):
    """The chip answered, but not as the protocol requires."""


class StatusWordError(ChipError):
    """The chip returned an unexpected status word."""


class AccessDeniedError(ChipError):
    """BAC or PACE authentication was refused: most often a wrong access key."""


class SecureMessagingError(ChipError):
    """A secure-messaging response failed its MAC check or is malformed."""


class ResponseFormatError(ChipError):
    """A response has the wrong length or shape."""


class ParseError(ChipidError):
    """Malformed data: TLV, ASN.1, MRZ, LDS files, QR text."""


class TLVError(ParseError):
    """A BER-TLV structure is malformed."""


class MRZError(ParseError):
    """A machine-readable zone is malformed or fails its check digits."""


class LimitExceededError(ParseError):
    """Input exceeds a fixed safety limit (size, depth, count): refused as hostile."""


class TrustError(ChipidError):
    """Trust anchors cannot be loaded or are unverifiable."""


class VerificationError(ChipidError):
    """A cryptographic check could not be attempted at all."""


class BiometricsError(ChipidError):
    """Face capture or comparison failed."""


class ImageError(BiometricsError):
    """An image is corrupt, truncated, empty or oversized."""


class CameraError(BiometricsError):
    """No camera, camera busy, or only black frames."""


class LedgerError(ChipidError):
    """Ledger storage or integrity problem."""


class TamperError(LedgerError):
    """The hash chain or a checkpoint signature does not verify."""


class LedgerFailedError(LedgerError):
    """A ledger write or fsync failed: the ledger stops taking writes until the service restarts
    (fail-stop). The message is in English and Vietnamese."""


class SyncError(ChipidError):
    """Delivery to, or ingest at, the police backend failed."""
