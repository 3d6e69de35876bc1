"""HTTP client of the shop towards the police backend: certificate pinning, loopback-only HTTP.

``https://`` URLs require the SHA-256 of the backend's certificate (DER, hex): the TLS
handshake is completed and the peer certificate compared with the pin *before* a single
byte of the request is sent; any other certificate (even one a public CA signed) is refused.
Plain ``http://`` is accepted only for loopback hosts (tests, demo).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import ssl
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import httpx

from verifier.errors import ConfigError, SyncError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_pin(pin: str) -> str:
    p = (pin or "").replace(":", "").strip().lower()
    if p.startswith("sha256/") or p.startswith("sha256:"):
        p = p[7:]
    if len(p) != 64 or any(c not in "0123456789abcdef" for c in p):
        raise ConfigError(f"pinned certificate: expected 64 hex digits of SHA-256, found {pin!r}")
    return p


def cert_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class PinnedSSLContext(ssl.SSLContext):
    """An SSL context that accepts exactly one certificate, named by its SHA-256."""

    pin: str = ""

    def wrap_socket(self, *args, **kwargs):  # called by httpcore's sync backend
        sock = super().wrap_socket(*args, **kwargs)
        der = sock.getpeercert(binary_form=True) or b""
        if not hmac.compare_digest(cert_sha256(der), self.pin):
            sock.close()
            raise ssl.SSLCertVerificationError(
                f"backend certificate SHA-256 {cert_sha256(der)} does not match the pinned {self.pin}")
        return sock


def pinned_context(pin: str) -> PinnedSSLContext:
    ctx = PinnedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the pin replaces CA validation: only this exact certificate
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.pin = normalise_pin(pin)
    return ctx


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: dict
    duplicate: bool = False


class BackendClient:
    def __init__(self, url: str, pin_sha256: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"backend URL: expected https://host[:port], found {url!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError(f"backend URL {url!r}: plain HTTP is allowed only on loopback; use https:// with a pinned certificate")
        verify: ssl.SSLContext | bool = False
        if parts.scheme == "https":
            if not pin_sha256:
                raise ConfigError("backend URL is https:// but no certificate is pinned (sync.backend_cert_sha256)")
            verify = pinned_context(pin_sha256)
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout, trust_env=False,
                                  headers={"User-Agent": "chipid-relay/1"})

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs) -> Reply:
        try:
            r = self._http.request(method, path, **kwargs)
        except (httpx.HTTPError, ssl.SSLError, OSError) as e:
            raise SyncError(_network_words(e)) from e
        try:
            body = r.json()
        except (json.JSONDecodeError, ValueError):
            body = {"detail": r.text[:300]}
        if not isinstance(body, dict):
            body = {"detail": body}
        if "detail" not in body and isinstance(body.get("error"), dict):  # the one error shape (verifier.error_shape)
            err = body["error"]
            details = err.get("details") if isinstance(err.get("details"), dict) else {}
            body["detail"] = details.get("detail") or err.get("message")
        return Reply(r.status_code, body, r.headers.get("x-chipid-duplicate") == "1")

    def post_batch(self, wire: bytes) -> Reply:
        return self._request("POST", "/api/v1/ingest", content=wire,
                             headers={"Content-Type": "application/vnd.chipid.batch", "Content-Encoding": "gzip"})

    def head(self, device_id: str, timeout: float | None = None) -> Reply:
        """Where the backend's copy of this device's chain ends; also the relay's probe after a failure
        (then with a short ``timeout``: a backend that accepts connections but does not answer is down)."""
        kwargs = {"timeout": timeout} if timeout is not None else {}
        return self._request("GET", f"/api/v1/devices/{device_id}/head", **kwargs)

    def enroll(self, body: dict) -> Reply:
        return self._request("POST", "/api/v1/enroll", json=body)

    def _signed(self, method: str, path: str, device_id: str, sign: Callable[[bytes], bytes], body: bytes = b"",
                **kwargs) -> Reply:
        """A request signed by the device key (:func:`sync.downlink.request_message`)."""
        from sync.downlink import request_headers
        from verifier.ledger.entry import utc_now

        headers = request_headers(device_id, sign, method, path, utc_now(), body)
        headers.update(kwargs.pop("headers", {}))
        return self._request(method, path, content=body or None, headers=headers, **kwargs)

    def downlink(self, device_id: str, after: int, sign: Callable[[bytes], bytes]) -> Reply:
        """The shop's signed police messages after version ``after`` (:mod:`sync.downlink`)."""
        return self._signed("GET", f"/api/v1/devices/{device_id}/downlink?after={int(after)}", device_id, sign)

    def post_photo(self, device_id: str, body: dict, sign: Callable[[bytes], bytes]) -> Reply:
        """One item photo of a delivered contract (:mod:`sync.backend.photos`)."""
        raw = json.dumps(body).encode()
        return self._signed("POST", f"/api/v1/devices/{device_id}/photos", device_id, sign, raw,
                            headers={"Content-Type": "application/json"})


def _network_words(e: Exception) -> str:
    if isinstance(e, (ssl.SSLCertVerificationError,)) or "pinned" in str(e):
        return f"the backend's certificate is not the pinned one: {e}"
    if isinstance(e, httpx.TimeoutException):
        return f"the backend did not answer in time ({e.__class__.__name__})"
    if isinstance(e, httpx.ConnectError):
        return f"cannot connect to the backend ({e})"
    return f"connection to the backend failed ({e.__class__.__name__}: {e})"
