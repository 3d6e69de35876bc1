"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("verify-ledger").addEventListener("click", async () => {
    const out = document.getElementById("ledger-result");
    out.textContent = "…"; out.className = "badge";
    try {
      const r = await api("GET", "/api/v1/ledger/verify");
      out.textContent = r.ok ? `${T.ledger_ok}: ${r.entries} · ${r.head_hash.slice(0, 16)}…` : `${T.ledger_bad}: seq ${r.first_bad_seq} – ${r.error}`;
      out.className = "badge " + (r.ok ? "ok" : "bad");
    } catch (e) { out.textContent = `${T.error}: ${e.message}`; out.className = "badge bad"; }
  });
  runSearch(1);
});
