"""Downloads for ``chipid trust refresh`` and the daily refresh of ``chipid serve`` (service layer:
the protocol core stays sans-I/O, :mod:`verifier.trust.refresh` decides what is kept).

:func:`http_fetch` gets one URL with httpx (short timeouts, size-capped, redirects followed);
:func:`refresh_data_dir` opens the operator's trust store, refreshes it and saves what changed;
:func:`refresh_loop` runs that daily for Vietnam while ``trust.auto_refresh`` is on.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import httpx

from verifier import __version__
from verifier.errors import TrustError
from verifier.trust.refresh import Fetch, RefreshReport, refresh
from verifier.trust.store import TrustStore

log = logging.getLogger(__name__)

#: A CRL of a large state can be a few MB; nothing a CSCA publishes comes near this.
MAX_DOWNLOAD_BYTES = 16 * 1024 * 1024
TIMEOUT_S = 10.0
#: ``chipid serve``: the first refresh a minute after start, then once a day.
FIRST_DELAY_S = 60.0
INTERVAL_S = 24 * 3600.0
SERVE_COUNTRIES = ("VN",)


def http_fetch(timeout_s: float = TIMEOUT_S) -> Fetch:
    """``fetch(url) -> bytes`` over HTTP(S); any failure is a :class:`TrustError` saying what happened."""
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
    headers = {"User-Agent": f"chipid/{__version__} (trust refresh)"}

    def fetch(url: str) -> bytes:
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True, headers=headers) as r:
                if r.status_code != 200:
                    raise TrustError(f"{url}: HTTP {r.status_code}")
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOWNLOAD_BYTES:
                        raise TrustError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes, refused")
                return bytes(body)
        except httpx.TimeoutException as e:
            raise TrustError(f"{url}: no answer within {timeout_s:g} s") from e
        except httpx.HTTPError as e:
            raise TrustError(f"{url}: cannot be reached ({type(e).__name__}: {e})") from e

    return fetch


def refresh_data_dir(cfg, *, fetch: Fetch | None = None, cert_urls: list[str] | None = None,
                     crl_urls: list[str] | None = None, countries: tuple[str, ...] | None = None,
                     store: TrustStore | None = None) -> RefreshReport:
    """Refresh the trust of ``cfg.data_dir`` (the production store plus the operator's imports) and save it."""
    store = store or TrustStore.open(cfg.data_dir)
    report = refresh(store, fetch or http_fetch(), cert_urls=cert_urls, crl_urls=crl_urls, countries=countries)
    if report.changed:
        store.save(cfg.data_dir / "trust")
    return report


def refresh_loop(cfg, stop: threading.Event, on_report: Callable[[RefreshReport | Exception], None],
                 *, first_delay_s: float = FIRST_DELAY_S, interval_s: float = INTERVAL_S, fetch: Fetch | None = None,
                 cert_urls: list[str] | None = None, crl_urls: list[str] | None = None) -> None:
    """Refresh Vietnam's trust after ``first_delay_s`` and then every ``interval_s`` until ``stop`` is set.
    ``fetch`` and the URL lists default to HTTP and what the store names (tests inject their own)."""
    delay = first_delay_s
    while not stop.wait(delay):
        delay = interval_s
        try:
            report = refresh_data_dir(cfg, fetch=fetch, countries=SERVE_COUNTRIES, cert_urls=cert_urls, crl_urls=crl_urls)
        except Exception as e:  # noqa: BLE001 - a refresh never stops the service; reported in health
            log.warning("trust refresh failed: %s", e)
            on_report(e)
            continue
        log.info("trust refresh: %s", report.summary())
        on_report(report)
