// The reports page (period links of the cash book and the register, the cash fund's forms, customer search) and the
// customer page (notes).
"use strict";

function periodLinks() {
  const from = $("period-from"), to = $("period-to");
  if (!from || !to) return;
  const update = () => {
    for (const p of document.querySelectorAll("p.exports[data-report]")) {
      for (const a of p.querySelectorAll("a[data-format]")) {
        a.href = `/api/v1/reports/${p.dataset.report}?from=${from.value}&to=${to.value}&format=${a.dataset.format}`;
      }
    }
  };
  from.addEventListener("change", update);
  to.addEventListener("change", update);
}

function customerSearch() {
  const form = $("customer-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if ($("c-id").value.trim()) q.set("id_number", $("c-id").value.trim());
    if ($("c-name").value.trim()) q.set("name", $("c-name").value.trim());
    const list = $("c-results"), err = $("c-error");
    list.replaceChildren();
    err.hidden = true;
    try {
      const found = await api("GET", "/api/v1/customers?" + q.toString());
      if (!found.people.length) list.append(el("li", {}, "Không tìm thấy khách hàng nào."));
      for (const p of found.people) {
        list.append(el("li", {}, el("a", { href: "/customers/" + p.subject }, p.full_name || "—"),
          ` – ${p.id_number || ""} – ${vdate(p.date_of_birth)} – ${p.contracts} hợp đồng`));
      }
    } catch (e) {
      err.replaceChildren(errorBox(e));
      err.hidden = false;
    }
  });
}

function notes() {
  const form = $("note-form");
  if (!form) return;
  const subject = $("person").dataset.subject;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = $("note-error");
    err.hidden = true;
    try {
      await api("POST", `/api/v1/customers/${subject}/notes`, { text: $("note-text").value });
      location.reload();
    } catch (e) {
      err.replaceChildren(errorBox(e));
      err.hidden = false;
    }
  });
}

// The cash fund (verifier/api/cash.py): a fund movement or a count is typed, shown in a confirmation dialog in
// figures, then recorded with one Idempotency-Key per confirmation (a double click records one entry). A count sends
// the book's balance it showed (expected_vnd): when the book moved meanwhile (409 amount_changed) the dialog shows the
// fresh figures to confirm again, with a new key.
const FUND_KIND = { "in:owner": "Nhập quỹ", "out:owner": "Rút quỹ", "in:other": "Thu khác", "out:other": "Chi khác" };

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// "10.500.000", "10 500 000 ₫" or "10500000" -> 10500000; anything else -> NaN
function parseVnd(text) {
  const t = String(text || "").replace(/[.\s₫đ]/g, "");
  return /^\d{1,12}$/.test(t) ? Number(t) : NaN;
}

const signedVnd = (n) => (n > 0 ? "+" : "") + vnd(n);

function cashForms() {
  const dlg = $("cash-dialog");
  if (!dlg) return;
  let pending = null;  // {url, body, key}
  const fail = (box, e) => { box.replaceChildren(typeof e === "string" ? e : errorBox(e)); box.hidden = false; };
  const show = (title, lines) => {
    $("cash-dialog-title").textContent = title;
    $("cash-dialog-lines").replaceChildren(...lines.flatMap(([k, v, id]) => [el("dt", {}, k), el("dd", id ? { id } : {}, v)]));
    $("cash-dialog-error").hidden = true;
    $("cash-confirm").disabled = false;
    if (!dlg.open) dlg.showModal();
    $("cash-confirm").focus();
  };
  const countLines = (p) => {
    const diff = p.body.counted_vnd - p.body.expected_vnd;
    return [["Tiền đếm được", vnd(p.body.counted_vnd)], ["Tồn quỹ trên sổ", vnd(p.body.expected_vnd), "cash-dialog-expected"],
            ["Chênh lệch", signedVnd(diff), "cash-dialog-diff"], ["Giải thích", p.body.note || "—"]];
  };
  const fundForm = $("fund-form");
  if (fundForm) fundForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("cash-error").hidden = true;
    const amount = parseVnd($("fund-amount").value), reason = $("fund-reason").value.trim();
    if (!(amount > 0)) return fail($("cash-error"), "Số tiền phải là số nguyên dương tính bằng đồng, ví dụ 10.000.000.");
    if (!reason) return fail($("cash-error"), "Phải ghi lý do của phiếu.");
    const [direction, purpose] = $("fund-kind").value.split(":");
    const balance = Number($("cash-balance").dataset.vnd);
    pending = { url: "/api/v1/cash/fund", body: { direction, purpose, amount_vnd: amount, reason }, key: newKey() };
    show(`Xác nhận phiếu ${direction === "in" ? "thu" : "chi"}: ${FUND_KIND[$("fund-kind").value]}`, [
      ["Số tiền", vnd(amount), "cash-dialog-amount"], ["Lý do", reason],
      ["Tồn quỹ sau phiếu", vnd(balance + (direction === "in" ? amount : -amount)), "cash-dialog-after"]]);
  });
  $("count-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("cash-error").hidden = true;
    const counted = parseVnd($("count-amount").value);
    if (!(counted >= 0)) return fail($("cash-error"), "Số tiền đếm được phải là số nguyên tính bằng đồng, ví dụ 25.500.000.");
    try {
      const now = await api("GET", "/api/v1/cash/balance");
      pending = { url: "/api/v1/cash/count", key: newKey(),
                  body: { counted_vnd: counted, expected_vnd: now.balance_vnd, note: $("count-note").value.trim() } };
      show("Xác nhận kiểm quỹ", countLines(pending));
      if (counted !== now.balance_vnd && !pending.body.note) {
        fail($("cash-dialog-error"), "Tiền đếm được lệch với sổ quỹ: hãy quay lại và ghi giải thích chênh lệch.");
        $("cash-confirm").disabled = true;
      }
    } catch (e) { fail($("cash-error"), e); }
  });
  $("cash-cancel").addEventListener("click", () => dlg.close());
  $("cash-confirm").addEventListener("click", async () => {
    if (!pending) return;
    $("cash-confirm").disabled = true;
    $("cash-dialog-changed").hidden = true;
    try {
      const r = await api("POST", pending.url, pending.body, { "Idempotency-Key": pending.key });
      pending = null;
      dlg.close();
      sessionStorage.setItem("cash-done", r.type === "cash_count"
        ? `Đã ghi kiểm quỹ: chênh lệch ${signedVnd(r.difference_vnd)}.` : `Đã ghi phiếu: tồn quỹ ${vnd(r.balance_vnd)}.`);
      location.reload();  // the day report as it now is
    } catch (e) {
      if (e.code === "amount_changed" && pending.body.expected_vnd !== undefined) {  // nothing recorded: confirm again
        pending = { ...pending, key: newKey(), body: { ...pending.body, expected_vnd: e.details.expected_vnd } };
        show("Xác nhận kiểm quỹ", countLines(pending));
        $("cash-dialog-changed").hidden = false;
        return;
      }
      fail($("cash-dialog-error"), e);
      $("cash-confirm").disabled = false;
    }
  });
  const done = sessionStorage.getItem("cash-done");
  if (done) {
    sessionStorage.removeItem("cash-done");
    $("cash-done").textContent = done;
    $("cash-done").hidden = false;
  }
}

periodLinks();
cashForms();
customerSearch();
notes();
