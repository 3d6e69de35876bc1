"""Trust store (CSCA master lists, certificates, CRLs) and passive authentication.

Modules, in dependency order:

* :mod:`~verifier.trust.der`: bounded, offset-keeping ASN.1 BER/DER reader for untrusted bytes;
* :mod:`~verifier.trust.signatures`: RSA PKCS#1 v1.5 / PSS, ECDSA (DER and plain r||s), SHA-1/SHA-2;
* :mod:`~verifier.trust.certs`: X.509 certificates and public keys (explicit EC parameters mapped
  to named curves through :func:`verifier.icao.curves.match_explicit_point`);
* :mod:`~verifier.trust.cms`: CMS SignedData parsing and SignerInfo verification (RFC 5652);
* :mod:`~verifier.trust.sod`: EF.SOD, the CMS SignedData over the LDS security object
  (ICAO 9303-10 §4.6.2), whose main user is passive authentication;
* :mod:`~verifier.trust.crl`, :mod:`~verifier.trust.masterlist`: CSCA CRLs and master lists;
* :mod:`~verifier.trust.store`: :class:`~verifier.trust.store.TrustStore` (default, demo, operator's);
* :mod:`~verifier.trust.passive`: :func:`~verifier.trust.passive.passive_authentication`.
"""
