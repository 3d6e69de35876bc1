"""The shop's side of the signed downlink (issue 19 item 2): fetch, verify, apply, in order, once.

The relay (:mod:`sync.relay`) calls :meth:`Inbox.fetch` after a delivery attempt that reached the
backend; a failed fetch is reported in the sync status and never holds up delivery. Each message must
verify with the backend key the shop pinned at enrolment (:mod:`sync.enrollment`) and name this shop
(:func:`sync.downlink.verify`); it is then applied through the shop's ledger as one ``event`` entry
(:mod:`verifier.ledger.holds`):

* ``hold`` / ``hold_release``: recorded (the hold projection and guard act on it); a hold on a contract
  this ledger does not hold is recorded ``applied: false`` with the reason;
* ``notice``: recorded, shown at the counter until acknowledged;
* ``trust``: its certificates, CRLs and master lists go through the checks of ``chipid trust import``
  (:meth:`verifier.trust.store.TrustStore.import_bytes`, master lists first, CRLs last) and, only when
  every one passes, are saved to the shop's trust store; otherwise nothing is saved and the message is
  recorded ``applied: false`` with the reason.

A message that does not verify (forged, altered, another shop's) is refused, logged and never applied;
as versions are applied in order (:func:`sync.downlink.plan`), nothing after it is applied either until
the backend serves a good one: the sync status says so. A version already applied is skipped.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

from sync import downlink as wire
from sync.client import BackendClient
from verifier.errors import ChipidError, InputError, SyncError, TamperError
from verifier.ledger.entry import load_public_key_b64, utc_now
from verifier.ledger.holds import NotNext, PoliceBook

log = logging.getLogger(__name__)


class Inbox:
    """Police messages for one enrolled ledger (``public_key``: the pinned backend key, base64)."""

    def __init__(self, ledger: Any, client: BackendClient, *, shop_id: str, public_key: str) -> None:
        self.ledger = ledger
        self.client = client
        self.shop_id = shop_id
        self.key = load_public_key_b64(public_key)
        self.police = PoliceBook.of(ledger)
        self.last_fetch: str | None = None
        self.last_error: str | None = None
        self.refused: dict | None = None  # the last message refused: {"version", "reason"}
        self.applied = 0                  # messages applied by this process

    def fetch(self) -> int:
        """Fetch what follows the last applied version and apply it; returns how many were applied.
        Raises :class:`SyncError` when the backend cannot be asked (the caller records it)."""
        after = self.police.applied_version()
        try:
            reply = self.client.downlink(self.ledger.device_id, after, self.ledger.sign)
        except SyncError as e:
            self.last_error = str(e)
            raise
        if reply.status_code != 200:
            self.last_error = f"backend answered HTTP {reply.status_code} to the downlink fetch: {reply.body.get('detail')}"
            raise SyncError(self.last_error)
        wires = {}
        for w in reply.body.get("messages") or []:
            v = (w.get("message") or {}).get("version") if isinstance(w, dict) else None
            if isinstance(v, int):
                wires.setdefault(v, w)
        todo, gap = wire.plan(after, wires)
        if gap is not None:
            log.info("police message %d missing from the backend's answer: fetched again next time", gap)
        n = 0
        for v in todo:
            try:
                msg = wire.verify(wires[v], self.key, self.shop_id)
            except (TamperError, InputError) as e:
                self.refused = {"version": v, "reason": str(e)}
                log.error("police message %d refused, not applied: %s", v, e)
                break
            try:
                self._apply(msg)
            except NotNext:  # another relay applied it meanwhile: ask again next time
                break
            n += 1
            if self.refused and self.refused["version"] <= v:
                self.refused = None
        self.applied += n
        self.last_fetch = utc_now()
        self.last_error = None
        return n

    def _apply(self, msg: wire.Message) -> None:
        message, sig = msg.to_json(), msg.signature
        if msg.kind in ("hold", "hold_release"):
            txn = msg.body["txn_id"]
            if not self.police.has_contract(txn):
                self.police.record(message, sig, applied=False, reason=f"no contract {msg.body['contract_no']} in this ledger")
                return
            self.police.record(message, sig, applied=True)
            log.warning("police %s %d recorded for contract %s", msg.kind.replace("_", " "), msg.version, msg.body["contract_no"])
        elif msg.kind == "notice":
            self.police.record(message, sig, applied=True)
        elif msg.kind == "trust":
            try:
                results = import_trust(Path(self.ledger.data_dir), msg.body["items"])
            except ChipidError as e:
                log.warning("police trust update %d refused: %s", msg.version, e)
                self.police.record(message, sig, applied=False, reason=str(e))
                return
            self.police.record(message, sig, applied=True, extra={"results": results})
            log.info("police trust update %d installed: %s", msg.version, "; ".join(r["result"] for r in results))

    def status(self) -> dict:
        return {"applied_version": self.police.applied_version(), "last_fetch": self.last_fetch,
                "last_error": self.last_error, "refused": self.refused}


def import_trust(data_dir: Path, items: list[dict]) -> list[dict]:
    """Import ``items`` (``{"name", "data": base64}``) into the shop's trust store with the checks of
    ``chipid trust import``: all or nothing (a :class:`ChipidError` saves nothing)."""
    from verifier.trust.store import TrustStore, sniff

    store = TrustStore.open(data_dir)
    order = {"master_list": 0, "certificate": 1, "crl": 2}
    files = sorted(((sniff(d), i["name"], d) for i in items for d in (base64.b64decode(i["data"]),)),
                   key=lambda x: order[x[0]])
    results = [{"name": name, "result": store.import_bytes(data, name=name)} for _, name, data in files]
    try:
        store.save(data_dir / "trust")
    except OSError as e:
        raise SyncError(f"cannot write the trust store: {e}") from e
    return results
