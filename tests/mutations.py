"""One Hypothesis strategy for the fuzz tests: real bytes, mutated a few times (a bit flipped, a byte set to a
value that matters to DER/TLV lengths and tags, bytes inserted, deleted, or the tail cut off)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

#: Byte values that change how a TLV reader sees a length or a tag.
TLV_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF)


@st.composite
def mutated(draw, seeds: Sequence[bytes], *, min_ops: int = 1, max_ops: int = 4, set_values: Sequence[int] = TLV_BYTES,
            insert_max: int = 4) -> bytes:
    """One of ``seeds`` after ``min_ops``..``max_ops`` mutations."""
    data = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(min_ops, max_ops))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from(list(set_values)))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=insert_max))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)
