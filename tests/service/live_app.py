"""The counter service app in the test's own process, and served over real HTTP on loopback.

* :func:`counter_app` is ``verifier.api.app.create_app`` (demo mode unless told) with a cheap Argon2 hasher (fast tests);
* :class:`LiveApp` holds one such app: its people (:meth:`LiveApp.person`, :meth:`LiveApp.bearer`), then
  :meth:`LiveApp.serve` puts it on uvicorn in a thread on a free 127.0.0.1 port (``sync.testing.ThreadServer``);
  :meth:`LiveApp.close` stops the server and closes the service. The ``live_app`` fixture of
  tests/service/conftest.py and ``served_shop`` of tests/sync/conftest.py build on it;
* :func:`enroll_shop` enrols a shop's ledger with a police backend, as ``chipid sync enroll`` does.

Unlike ``live_server`` (``chipid serve`` in a subprocess), the test reaches into the running service
(``svc.book``, ``svc.scans``, ``svc.ledger``) while the browser or httpx talks to it over HTTP.
"""

from __future__ import annotations

from pathlib import Path

# the relay's settings for tests over loopback: retry soon, back off little (``Config().with_overrides(**FAST_SYNC)``)
FAST_SYNC = {"sync__interval_s": 0.2, "sync__backoff_base_s": 0.05, "sync__backoff_max_s": 0.5}


def counter_app(cfg, demo: bool = True, **create_kw):
    """``create_app(cfg, demo=demo, ...)`` with users hashed cheaply; ``create_kw`` e.g. ``start_sync=False``."""
    from argon2 import PasswordHasher

    from verifier.api.app import create_app
    from verifier.users import UserStore

    users = UserStore(cfg.data_dir, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fast tests
    return create_app(cfg, demo=demo, users=users, announce=lambda m: None, **create_kw)


class LiveApp:
    """One counter service app; ``url`` is set once :meth:`serve` has started it."""

    def __init__(self, cfg, **create_kw) -> None:
        self.app = counter_app(cfg, **create_kw)
        self.svc = self.app.state.svc
        self.server = None
        self.url = ""
        self.closed = False

    def person(self, name: str, role: str) -> dict:
        """A user with a password of their own (the one-time password changed, as at a first login):
        ``{"name", "password"}``, what the login page takes."""
        created = self.svc.users.add(name, role)
        password = created["password"] + "-da-doi"
        self.svc.users.change_password(name, created["password"], password)
        return {"name": name, "password": password}

    def bearer(self, name: str, role: str = "clerk") -> dict:
        """A new user's API token as request headers."""
        self.svc.users.add(name, role)
        return {"Authorization": "Bearer " + self.svc.users.issue_token(name)}

    def serve(self) -> "LiveApp":
        from sync.testing import ThreadServer

        self.server = ThreadServer(self.app).start()  # uvicorn in a thread on a free loopback port
        self.url = self.server.url
        return self

    def close(self) -> None:
        """Stop serving and close the service; a second call does nothing."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        if not self.closed:
            self.closed = True
            self.svc.close()


def enroll_shop(db, backend_url: str, data_dir: Path) -> dict:
    """Enrol the ledger in ``data_dir`` (created if new) with the backend of ``db`` served at ``backend_url``, as the
    shop "Cầm đồ Phú Nhuận" (PN-12, province 79); returns the enrolment record (``shop_id``, pinned downlink key)."""
    from sync.backend import enroll
    from sync.enrollment import enroll as shop_enroll
    from verifier.ledger.store import Ledger

    led = Ledger.open(data_dir)
    try:
        token = enroll.add_device_token(db, shop="Cầm đồ Phú Nhuận", license_no="PN-12", province="79")["token"]
        return shop_enroll(led, backend_url, token)
    finally:
        led.close()
