"""A bounded, offset-keeping ASN.1 BER/DER reader (ITU-T X.690 §8) for untrusted input.

Where it is used, and why not asn1crypto there: the CMS SignedData envelopes
(:mod:`verifier.trust.cms`) of EF.SOD and of CSCA master lists (ICAO 9303-12 §8, RFC 5652 §5),
the X.509 certificates and CRLs of the trust store (:mod:`verifier.trust.certs`, RFC 5280), and
the master-list content (:mod:`verifier.trust.masterlist`). These come from outside, a master list
is several megabytes with hundreds of certificates, and the reader protects against:

- sizes: tag numbers beyond :data:`MAX_TAG_BYTES`, length fields beyond :data:`MAX_LENGTH_BYTES`,
  lengths running past the data (:class:`ParseError` before anything is allocated);
- depth: nesting deeper than :data:`MAX_DEPTH`, definite or indefinite (X.690 §8.1.3.6);
- counts: more than ``max_nodes`` nodes in one object (:func:`validate`), OBJECT IDENTIFIERs
  longer than :data:`MAX_OID_BYTES` or with more than :data:`MAX_OID_ARCS` arcs;
- materialisation: a :class:`Node` is four offsets into the received bytes, read lazily one
  level at a time, so a multi-megabyte master list is never turned into a tree of decoded
  objects, and each certificate is sliced out as the bytes received.

Small fixed structures read after those limits apply are declared as asn1crypto specs with
their spec's field names instead: the SOD's LDSSecurityObject (:mod:`verifier.trust.sod`), the
SubjectPublicKeyInfo (:mod:`verifier.icao.chip_keys`).

Every node remembers where it sits in the original bytes, so a caller hashes or verifies
exactly what was received and never a re-encoding (ARCHITECTURE.md "Hash the bytes that
were read"). Limits raise :class:`LimitExceededError`, structural errors :class:`ParseError`.
Indefinite lengths are accepted for constructed encodings, as BER allows; ``Node.content``
then excludes the end-of-contents octets.

Why two TLV readers: :mod:`verifier.icao.tlv` is the ICAO 9303 BER-TLV codec (tags as the hex
numbers the LDS specs name, 0x5F1F / 0x7F61; small files; copied values; also encodes); this is
the X.509 / CMS reader (class + tag number, lazy offset-only nodes, node-count and OID limits).
They share the header limits (:data:`MAX_TAG_BYTES`, :data:`MAX_LENGTH_BYTES`).
"""

from __future__ import annotations

from functools import lru_cache

from verifier.errors import ChipidError, LimitExceededError, ParseError
from verifier.icao.tlv import MAX_LENGTH_BYTES, MAX_TAG_BYTES

MAX_DEPTH = 24
MAX_OID_BYTES = 64
MAX_OID_ARCS = 32
DEFAULT_MAX_NODES = 20_000

# Universal tags
BOOLEAN, INTEGER, BIT_STRING, OCTET_STRING, NULL, OID = 1, 2, 3, 4, 5, 6
UTF8STRING, SEQUENCE, SET, PRINTABLESTRING, IA5STRING, UTCTIME, GENERALIZEDTIME = 12, 16, 17, 19, 22, 23, 24

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3


class Node:
    """One TLV of ``data``: ``data[start:end]`` is the whole encoding, ``data[cstart:cend]`` its contents.

    A plain slotted class rather than a frozen dataclass: the reader creates tens of
    thousands of these for a master list. Treat it as immutable.
    """

    __slots__ = ("data", "cls", "constructed", "number", "start", "cstart", "cend", "end", "depth", "_kids")

    def __init__(self, data: bytes, cls: int, constructed: bool, number: int, start: int, cstart: int,
                 cend: int, end: int, depth: int = 0, kids: list | None = None) -> None:
        self._kids = kids  # children found while locating an indefinite-length end (read once, kept)
        self.data = data
        self.cls = cls
        self.constructed = constructed
        self.number = number
        self.start = start
        self.cstart = cstart
        self.cend = cend
        self.end = end
        self.depth = depth

    def __repr__(self) -> str:
        return f"Node({self.describe()} at {self.start}..{self.end})"

    @property
    def raw(self) -> bytes:
        """The complete encoding exactly as received."""
        return self.data[self.start : self.end]

    @property
    def content(self) -> bytes:
        return self.data[self.cstart : self.cend]

    @property
    def indefinite(self) -> bool:
        return self.end - self.cend == 2 and self.constructed and self.data[self.start + self._tag_len()] == 0x80

    def _tag_len(self) -> int:
        return 1 if self.data[self.start] & 0x1F != 0x1F else _tag_size(self.data, self.start)

    def is_(self, number: int, cls: int = UNIVERSAL, constructed: bool | None = None) -> bool:
        return self.cls == cls and self.number == number and (constructed is None or self.constructed == constructed)

    def describe(self) -> str:
        names = {UNIVERSAL: "", APPLICATION: "APPLICATION ", CONTEXT: "[", PRIVATE: "PRIVATE "}
        if self.cls == CONTEXT:
            return f"[{self.number}]"
        universal = {1: "BOOLEAN", 2: "INTEGER", 3: "BIT STRING", 4: "OCTET STRING", 5: "NULL", 6: "OID",
                     12: "UTF8String", 16: "SEQUENCE", 17: "SET", 19: "PrintableString", 23: "UTCTime",
                     24: "GeneralizedTime"}
        if self.cls == UNIVERSAL and self.number in universal:
            return universal[self.number]
        return f"{names[self.cls]}{self.number}"

    def children(self) -> list["Node"]:
        """The nodes inside a constructed encoding (one level)."""
        if not self.constructed:
            raise ParseError(f"expected a constructed encoding, found primitive {self.describe()} at offset {self.start}")
        if self._kids is not None:
            return list(self._kids)
        out = []
        pos = self.cstart
        while pos < self.cend:
            child = read_node(self.data, pos, self.cend, self.depth + 1)
            out.append(child)
            pos = child.end
        return out

    # --- typed accessors ----------------------------------------------------------------
    def expect(self, number: int, what: str, cls: int = UNIVERSAL, constructed: bool | None = None) -> "Node":
        if not self.is_(number, cls, constructed):
            want = Node(b"", cls, bool(constructed), number, 0, 0, 0, 0).describe()
            raise ParseError(f"{what}: expected {want}, found {self.describe()} at offset {self.start}")
        return self

    def as_int(self, what: str, max_bytes: int = 64) -> int:
        self.expect(INTEGER, what, constructed=False)
        c = self.content
        if not c:
            raise ParseError(f"{what}: empty INTEGER at offset {self.start}")
        if len(c) > max_bytes:
            raise LimitExceededError(f"{what}: INTEGER of {len(c)} bytes, at most {max_bytes} allowed")
        return int.from_bytes(c, "big", signed=True)

    def as_oid(self, what: str) -> str:
        self.expect(OID, what, constructed=False)
        return decode_oid(self.content, what)

    def as_octets(self, what: str, max_parts: int = 4096) -> bytes:
        """OCTET STRING contents; a BER constructed OCTET STRING is the concatenation of its parts."""
        self.expect(OCTET_STRING, what)
        if not self.constructed:
            return self.content
        parts: list[bytes] = []
        for child in self.children():
            parts.append(child.as_octets(what))
            if len(parts) > max_parts:
                raise LimitExceededError(f"{what}: constructed OCTET STRING of more than {max_parts} parts")
        return b"".join(parts)

    def as_string(self, what: str) -> str:
        if self.constructed or self.cls != UNIVERSAL or self.number not in (PRINTABLESTRING, UTF8STRING, IA5STRING, 20, 26):
            raise ParseError(f"{what}: expected a character string, found {self.describe()} at offset {self.start}")
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError(f"{what}: string is not valid UTF-8") from e


def _tag_size(data: bytes, pos: int) -> int:
    n = 1
    while True:
        b = data[pos + n]
        n += 1
        if not b & 0x80:
            return n


def read_node(data: bytes, pos: int, limit: int | None = None, depth: int = 0) -> Node:
    """Read one TLV header at ``pos`` (bounded by ``limit``) and locate its end."""
    if depth > MAX_DEPTH:
        raise LimitExceededError(f"ASN.1 nesting deeper than {MAX_DEPTH} levels at offset {pos}")
    if limit is None:
        limit = len(data)
    start = pos
    if pos >= limit:
        raise ParseError(f"expected an ASN.1 tag at offset {pos}, found end of data")
    first = data[pos]
    pos += 1
    cls = first >> 6
    constructed = bool(first & 0x20)
    number = first & 0x1F
    if number == 0x1F:
        number = 0
        count = 0
        while True:
            if pos >= limit:
                raise ParseError(f"multi-byte tag at offset {start} runs past end of data")
            b = data[pos]
            pos += 1
            count += 1
            if count > MAX_TAG_BYTES - 1:
                raise LimitExceededError(f"tag at offset {start} longer than {MAX_TAG_BYTES} bytes")
            number = (number << 7) | (b & 0x7F)
            if not b & 0x80:
                break
    if pos >= limit:
        raise ParseError(f"expected a length at offset {pos}, found end of data")
    lb = data[pos]
    pos += 1
    if lb == 0x80:
        if not constructed:
            raise ParseError(f"indefinite length on a primitive encoding at offset {start}")
        # The end is found by reading the children; they are kept on the node so that no
        # level is read twice (nested indefinite lengths would otherwise cost depth x size).
        cstart = pos
        p = pos
        kids = []
        while True:
            if p + 2 > limit:
                raise ParseError(f"indefinite-length value at offset {start} has no end-of-contents marker")
            if data[p] == 0 and data[p + 1] == 0:
                return Node(data, cls, constructed, number, start, cstart, p, p + 2, depth, kids)
            child = read_node(data, p, limit, depth + 1)
            kids.append(child)
            p = child.end
    if lb & 0x80:
        n = lb & 0x7F
        if n > MAX_LENGTH_BYTES:
            raise LimitExceededError(f"length field of {n} bytes at offset {start}: at most {MAX_LENGTH_BYTES} allowed")
        if pos + n > limit:
            raise ParseError(f"length field at offset {start} runs past end of data")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    else:
        length = lb
    if pos + length > limit:
        raise ParseError(f"{_describe(cls, number)} at offset {start} declares {length} bytes "
                         f"but only {limit - pos} remain")
    return Node(data, cls, constructed, number, start, pos, pos + length, pos + length, depth)


def _describe(cls: int, number: int) -> str:
    return Node(b"", cls, False, number, 0, 0, 0, 0).describe()


def parse(data: bytes, what: str, *, allow_trailing: bool = False) -> Node:
    """Parse one top-level node of ``data`` (header only; use :func:`validate` for a full walk)."""
    data = bytes(data)
    node = read_node(data, 0)
    if node.end != len(data) and not allow_trailing:
        raise ParseError(f"{what}: {len(data) - node.end} trailing bytes after the {node.describe()}")
    return node


def validate(node: Node, max_nodes: int = DEFAULT_MAX_NODES) -> int:
    """Walk the whole tree under ``node`` checking every header and every OID; returns the node count.

    Raises :class:`LimitExceededError` beyond ``max_nodes`` nodes, :data:`MAX_DEPTH` levels,
    or an OID over the limits, and :class:`ParseError` for a malformed encoding.

    :func:`_count_plain` counts the usual tree first, without making a :class:`Node` per node; the walk
    below runs when it finds anything else (and then raises exactly what it always raised).
    """
    count = _count_plain(node, max_nodes)
    if count is not None:
        return count
    count = 0
    stack = [node]
    while stack:
        n = stack.pop()
        count += 1
        if count > max_nodes:
            raise LimitExceededError(f"more than {max_nodes} ASN.1 nodes: refused as hostile")
        if n.constructed:
            stack.extend(n.children())
        elif n.number == OID and n.cls == UNIVERSAL:
            _check_oid(n.data, n.cstart, n.cend)
    return count


def _count_plain(node: Node, max_nodes: int) -> int | None:
    """The count :func:`validate` returns for a tree of one-byte tags and definite lengths whose every node
    passes its checks (each header within its parent, depth, ``max_nodes``, each OID within
    :func:`_check_oid`'s limits), read from the headers in place; None for anything else, including every
    tree :func:`validate` refuses (a walk succeeds or fails whatever the order it visits the nodes in)."""
    data = node.data
    count = 0
    stack = [(node.start, node.end, node.depth)]  # the root's own header is read again, at its depth
    while stack:
        pos, end, depth = stack.pop()
        if depth > MAX_DEPTH and pos < end:
            return None
        while pos < end:
            first = data[pos]
            if first & 0x1F == 0x1F or pos + 2 > end:
                return None
            length = data[pos + 1]
            pos += 2
            if length & 0x80:
                size = length & 0x7F
                if not 0 < size <= MAX_LENGTH_BYTES or pos + size > end:
                    return None
                length = int.from_bytes(data[pos : pos + size], "big")
                pos += size
            cend = pos + length
            count += 1
            if cend > end or count > max_nodes:
                return None
            if first & 0x20:
                stack.append((pos, cend, depth + 1))
            elif first == OID and not _oid_within_limits(data, pos, cend):
                return None
            pos = cend
    return count


def _oid_within_limits(data: bytes, start: int, end: int) -> bool:
    """Whether OBJECT IDENTIFIER contents pass the size, last-byte and arc-count limits of :func:`decode_oid`
    (what :func:`validate` checks; the arcs themselves are decoded by the caller that reads them)."""
    size = end - start
    if size == 0 or size > MAX_OID_BYTES or data[end - 1] & 0x80:
        return False
    # an arc ends on each byte below 0x80: at most ``size`` arcs, counted only when that could be too many
    return size <= MAX_OID_ARCS or sum(b < 0x80 for b in data[start:end]) <= MAX_OID_ARCS


def _check_oid(data: bytes, start: int, end: int) -> None:
    """The limits of :func:`decode_oid` without building the dotted string (for :func:`validate`)."""
    if not _oid_within_limits(data, start, end):
        _decode_oid(data[start:end], "OBJECT IDENTIFIER")  # raises with the precise message


def decode_oid(content: bytes, what: str) -> str:
    """Decode OBJECT IDENTIFIER contents (X.690 §8.19) with the size limits above."""
    if type(content) is bytes:
        known = _remembered_oid(content)
        if known is not None:
            return known
    return _decode_oid(content, what)


@lru_cache(maxsize=1024)
def _remembered_oid(content: bytes) -> str | None:
    """:func:`_decode_oid` of ``content``, remembered by its bytes (every card and certificate names the same
    few dozen algorithms, attributes and protocols); None when it is refused (the caller then decodes it
    again, to raise with its own name)."""
    try:
        return _decode_oid(content, "OBJECT IDENTIFIER")
    except ChipidError:
        return None


def _decode_oid(content: bytes, what: str) -> str:
    if not content:
        raise ParseError(f"{what}: empty OBJECT IDENTIFIER")
    if len(content) > MAX_OID_BYTES:
        raise LimitExceededError(f"{what}: OBJECT IDENTIFIER of {len(content)} bytes, at most {MAX_OID_BYTES} allowed")
    if content[-1] & 0x80:
        raise ParseError(f"{what}: OBJECT IDENTIFIER ends inside an arc")
    arcs: list[int] = []
    value = 0
    fresh = True
    for b in content:
        if fresh and b == 0x80:
            raise ParseError(f"{what}: OBJECT IDENTIFIER arc with a leading 0x80 byte (not minimal)")
        value = (value << 7) | (b & 0x7F)
        fresh = False
        if not b & 0x80:
            arcs.append(value)
            value = 0
            fresh = True
            if len(arcs) > MAX_OID_ARCS:
                raise LimitExceededError(f"{what}: OBJECT IDENTIFIER with more than {MAX_OID_ARCS} arcs")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def encode_oid(dotted: str) -> bytes:
    """DER contents of an OBJECT IDENTIFIER (for comparisons and test builders)."""
    arcs = [int(a) for a in dotted.split(".")]
    values = [arcs[0] * 40 + arcs[1]] + arcs[2:]
    out = bytearray()
    for v in values:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)
