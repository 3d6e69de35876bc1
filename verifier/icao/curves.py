"""Named elliptic-curve domain parameters used by eMRTDs, and matching of explicit parameters.

The curves are those of ICAO 9303-11 §9.5.1 (PACE standardized domain parameters):
brainpoolP{192,224,256,320,384,512}r1 (RFC 5639 §3) and NIST P-192, P-224, P-256, P-384,
P-521 (FIPS 186-4 D.1.2, SEC 2 §2.4-2.9). Values are written out in full below; the test
suite checks that G lies on each curve, that ``n·G`` is the point at infinity, and that
``cryptography`` computes the same public point as the pure-Python arithmetic of
:mod:`verifier.icao.ecc` (the one point arithmetic; this module holds no arithmetic).

Many states (Vietnam among them) encode the curve of a CSCA or DSC key with *explicit*
parameters (ECParameters / SpecifiedECDomain, RFC 3279 §2.3.5; BSI TR-03111 §5.1.1) instead
of a named-curve OID. :func:`match_explicit` maps such parameters to the named curve they
equal by comparing the fields, nothing else. An explicit curve that is not one of ours is
refused at once: crafted curves are an attack (e.g. CVE-2020-0601 "CurveBall"), and no
arithmetic is ever done on untrusted parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import ParseError, TrustError

#: Largest field we know (P-521); anything bigger is refused before any comparison.
MAX_FIELD_BITS = 521


@dataclass(frozen=True)
class CurveParams:
    """Domain parameters of a short-Weierstrass curve ``y² = x³ + a·x + b`` over GF(p)."""

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int
    h: int
    oid: str = ""

    @property
    def field_bytes(self) -> int:
        """Size of a field element in bytes (BSI TR-03111 §3.1.3)."""
        return (self.p.bit_length() + 7) // 8

    @property
    def order_bytes(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def contains(self, x: int, y: int) -> bool:
        """True when the affine point (x, y) satisfies the curve equation (and lies in the field)."""
        if not (0 <= x < self.p and 0 <= y < self.p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0


def _c(name: str, *, p: str, a: str, b: str, gx: str, gy: str, n: str, h: int, oid: str) -> CurveParams:
    return CurveParams(name, int(p, 16), int(a, 16), int(b, 16), int(gx, 16), int(gy, 16), int(n, 16), h, oid)


_ALL = (
    _c(
        "brainpoolP192r1",
        p="C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297",
        a="6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF",
        b="469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9",
        gx="C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD6",
        gy="14B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F",
        n="C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.3",
    ),
    _c(
        "brainpoolP224r1",
        p="D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF",
        a="68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43",
        b="2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B",
        gx="0D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D",
        gy="58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD",
        n="D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.5",
    ),
    _c(
        "brainpoolP256r1",
        p="A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        a="7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        b="26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        gx="8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
        gy="547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
        n="A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.7",
    ),
    _c(
        "brainpoolP320r1",
        p="D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27",
        a="3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4",
        b="520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6",
        gx="43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E20611",
        gy="14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1",
        n="D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.9",
    ),
    _c(
        "brainpoolP384r1",
        p="8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
        a="7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
        b="04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
        gx="1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
        gy="8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
        n="8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.11",
    ),
    _c(
        "brainpoolP512r1",
        p="AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
        a="7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
        b="3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
        gx="81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
        gy="7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
        n="AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
        h=1,
        oid="1.3.36.3.3.2.8.1.1.13",
    ),
    _c(
        "secp192r1",
        p="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
        a="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
        b="64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1",
        gx="188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF1012",
        gy="07192B95FFC8DA78631011ED6B24CDD573F977A11E794811",
        n="FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831",
        h=1,
        oid="1.2.840.10045.3.1.1",
    ),
    _c(
        "secp224r1",
        p="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001",
        a="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE",
        b="B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4",
        gx="B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21",
        gy="BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34",
        n="FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D",
        h=1,
        oid="1.3.132.0.33",
    ),
    _c(
        "secp256r1",
        p="FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
        a="FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
        b="5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B",
        gx="6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
        gy="4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
        n="FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
        h=1,
        oid="1.2.840.10045.3.1.7",
    ),
    _c(
        "secp384r1",
        p="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF",
        a="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC",
        b="B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF",
        gx="AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7",
        gy="3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F",
        n="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        h=1,
        oid="1.3.132.0.34",
    ),
    _c(
        "secp521r1",
        p="01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        a="01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC",
        b="0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00",
        gx="00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66",
        gy="011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650",
        n="01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        h=1,
        oid="1.3.132.0.35",
    ),
)

#: Named curves by their usual name (SEC 2 names for the NIST curves).
CURVES: dict[str, CurveParams] = {c.name: c for c in _ALL}

#: NIST / X9.62 aliases of the SEC 2 names.
ALIASES: dict[str, str] = {
    "P-192": "secp192r1", "prime192v1": "secp192r1",
    "P-224": "secp224r1",
    "P-256": "secp256r1", "prime256v1": "secp256r1",
    "P-384": "secp384r1",
    "P-521": "secp521r1",
}

#: Named curves by their OID (RFC 5639 §4.1, RFC 5480 §2.1.1.1).
BY_OID: dict[str, CurveParams] = {c.oid: c for c in _ALL}

#: PACE standardized domain parameter IDs (ICAO 9303-11 §9.5.1, table 6) -> curve name.
PACE_STANDARD_IDS: dict[int, str] = {
    8: "secp192r1", 9: "brainpoolP192r1", 10: "secp224r1", 11: "brainpoolP224r1",
    12: "secp256r1", 13: "brainpoolP256r1", 14: "brainpoolP320r1", 15: "secp384r1",
    16: "brainpoolP384r1", 17: "brainpoolP512r1", 18: "secp521r1",
}

_BY_P: dict[int, list[CurveParams]] = {}
for _curve in _ALL:
    _BY_P.setdefault(_curve.p, []).append(_curve)


def curve(name: str) -> CurveParams:
    """Look up a named curve by name, NIST alias or OID."""
    key = ALIASES.get(name, name)
    found = CURVES.get(key) or BY_OID.get(name)
    if found is None:
        raise TrustError(f"unknown elliptic curve {name!r}: expected one of {', '.join(CURVES)}")
    return found


def _as_int(label: str, value: object) -> int:
    if isinstance(value, bool):
        raise ParseError(f"explicit curve parameter {label}: expected an integer, found a boolean")
    if isinstance(value, (bytes, bytearray)):
        if len(value) > (MAX_FIELD_BITS + 7) // 8 + 1:
            raise TrustError(f"explicit curve parameter {label} is {len(value)} bytes long: "
                             f"larger than any supported curve (at most {MAX_FIELD_BITS} bits)")
        return int.from_bytes(value, "big")
    if isinstance(value, int):
        return value
    raise ParseError(f"explicit curve parameter {label}: expected an integer or bytes, found {type(value).__name__}")


def match_explicit(p, a, b, gx, gy, n, h=None) -> str:
    """Return the name of the named curve these explicit domain parameters equal.

    Parameters may be ints or big-endian bytes (as in SpecifiedECDomain, where ``a`` and
    ``b`` are OCTET STRINGs). Only field-by-field comparison is done; parameters that are
    not exactly one of :data:`CURVES` raise :class:`TrustError` (cofactor may be omitted,
    as RFC 3279 allows; when given it must match). Cost is independent of the input's
    arithmetic: no point operation, no primality test, no modular reduction.
    """
    values = {}
    for label, value in (("p", p), ("a", a), ("b", b), ("gx", gx), ("gy", gy), ("n", n)):
        v = _as_int(label, value)
        if v < 0 or v.bit_length() > MAX_FIELD_BITS + 1:
            raise TrustError(f"explicit curve parameter {label} has {v.bit_length()} bits: "
                             f"not a supported curve (at most {MAX_FIELD_BITS} bits)")
        values[label] = v
    candidates = _BY_P.get(values["p"])
    if not candidates:
        raise TrustError(f"explicit elliptic curve with a {values['p'].bit_length()}-bit prime that is not "
                         f"the field of any supported named curve (Brainpool r1 or NIST): refused")
    for c in candidates:
        if (c.a, c.b, c.gx, c.gy, c.n) == (values["a"], values["b"], values["gx"], values["gy"], values["n"]):
            if h is not None and _as_int("h", h) != c.h:
                raise TrustError(f"explicit curve equals {c.name} but has cofactor {_as_int('h', h)}, "
                                 f"expected {c.h}: refused")
            return c.name
    differing = [k for k in ("a", "b", "gx", "gy", "n") if getattr(candidates[0], k) != values[k]]
    raise TrustError(f"explicit elliptic curve over the field of {candidates[0].name} differs from it in "
                     f"{', '.join(differing)}: a crafted curve, refused")


def match_explicit_point(p, a, b, g: bytes, n, h=None) -> str:
    """Like :func:`match_explicit` with the base point as an uncompressed octet string ``04 || x || y``
    (X9.62 / BSI TR-03111 §3.2.1), as found in SpecifiedECDomain.base."""
    g = bytes(g)
    if len(g) > 2 * ((MAX_FIELD_BITS + 7) // 8) + 1:
        raise TrustError(f"explicit curve base point of {len(g)} bytes: larger than any supported curve")
    pi = _as_int("p", p)
    size = (pi.bit_length() + 7) // 8
    if len(g) == 2 * size + 1 and g[0] == 0x04:
        gx, gy = int.from_bytes(g[1 : 1 + size], "big"), int.from_bytes(g[1 + size :], "big")
        return match_explicit(pi, a, b, gx, gy, n, h)
    if len(g) == size + 1 and g[0] in (0x02, 0x03):
        # Compressed base point: compare x and the parity of y against the named curves.
        gx = int.from_bytes(g[1:], "big")
        for c in _BY_P.get(pi, []):
            if c.gx == gx and (c.gy & 1) == (g[0] & 1):
                return match_explicit(pi, a, b, c.gx, c.gy, n, h)
        raise TrustError("explicit elliptic curve with a compressed base point that is not the generator "
                         "of any supported named curve: refused")
    raise ParseError(f"explicit curve base point: expected 04||x||y of {2 * size + 1} bytes or a "
                     f"compressed point of {size + 1} bytes, found {len(g)} bytes starting {g[:1].hex() or 'empty'}")


def cryptography_curve(name: str):
    """The ``cryptography`` curve object for a named curve, or None when the library lacks it."""
    from cryptography.hazmat.primitives.asymmetric import ec

    table = {
        "secp192r1": ec.SECP192R1, "secp224r1": ec.SECP224R1, "secp256r1": ec.SECP256R1,
        "secp384r1": ec.SECP384R1, "secp521r1": ec.SECP521R1,
        "brainpoolP256r1": ec.BrainpoolP256R1, "brainpoolP384r1": ec.BrainpoolP384R1,
        "brainpoolP512r1": ec.BrainpoolP512R1,
    }
    cls = table.get(ALIASES.get(name, name))
    return cls() if cls is not None else None
