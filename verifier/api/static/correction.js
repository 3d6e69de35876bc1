// The manager's "Hủy / đính chính" on the contract view (issue 17 item 3): a `correction` event with `cancel: true` and
// a written reason (POST /api/v1/transactions/{id}/events); the server refuses anyone without txn.override (403) and a
// missing reason (400); the ledger is never edited, the contract becomes `cancelled`. One Idempotency-Key per form, so
// a double click or a retry records one cancellation.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("correction-form");
  if (!form) return;
  const key = crypto.randomUUID();
  const err = $("correction-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const reason = $("correction-reason").value.trim();
    if (!reason) { err.textContent = T.correction_missing; err.hidden = false; $("correction-reason").focus(); return; }
    $("correction-apply").disabled = true;
    try {
      await api("POST", `/api/v1/transactions/${encodeURIComponent(form.dataset.txn)}/events`,
                { type: "correction", cancel: true, reason }, { "Idempotency-Key": key });
      form.hidden = true;
      $("correction-done").hidden = false;
      window.location.reload();  // the contract as it now is: marked cancelled, the correction in its events
    } catch (e) {
      err.replaceChildren(errorBox(e, T.error)); err.hidden = false;
      $("correction-apply").disabled = false;
    }
  });
});
