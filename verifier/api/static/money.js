// Money at the counter (issue 18; the agreed money schema): the contract's rate typed in the unit the clerk thinks in
// (%/năm, %/tháng, đ/triệu/ngày) and converted as it is typed, with a warning above the legal cap (fees included,
// Civil Code art. 468); and the money of a contract found in the search: "Lãi đến hôm nay" and "Số tiền chuộc" from
// the view's money block, and its actions (Đóng lãi, Trả bớt gốc, Vay thêm, Gia hạn, Chuộc đồ, Thanh lý). Each action
// is quoted first (GET .../quote), shown in a confirmation dialog in figures (and in words when the quote has them),
// then recorded with the amounts the clerk confirmed (`expected`) and one Idempotency-Key per confirmation; a 409
// amount_changed shows the new quote; then "In biên nhận". A police hold on the contract (issue 19 item 2: the view's
// `hold`, or a 409 item_on_hold) shows in large red with its reason, case number and until when, and the buttons of
// what it forbids (hold.blocks: Chuộc đồ, Thanh lý) are locked and say why; counter.js redraws the panel when a hold
// or its release arrives on the event stream (policeHoldChanged).
"use strict";

// --- the rate -----------------------------------------------------------------------------------
// verifier/ledger/interest.py: year_pct = month_pct x 12 = vnd_per_million_day x 365 / 10 000
const RATE_TO_YEAR = { year_pct: 1, month_pct: 12, vnd_per_million_day: 365 / 10000 };

const decimalText = (s) => String(s || "").trim().replace(/\s/g, "").replace(",", ".");
const fmt = (x, digits) => Number(x).toLocaleString("vi-VN", { maximumFractionDigits: digits === undefined ? 4 : digits });

function rateYear() {
  const v = Number(decimalText($("rate").value));
  return Number.isFinite(v) ? v * RATE_TO_YEAR[$("rate-unit").value] : NaN;
}

// what POST /api/v1/transactions takes: the rate as typed, converted exactly by the server (money schema "Rates")
function rateBody() {
  return { rate_input: { value: decimalText($("rate").value), unit: $("rate-unit").value } };
}

// the typed rate in all three units, and the effective yearly rate (fees included) against the legal cap
function showRate() {
  const note = $("rate-note");
  if (!note) return;
  const year = rateYear();
  const input = $("rate");
  if (!Number.isFinite(year) || year < 0 || decimalText(input.value) === "") {
    note.textContent = T.rate_invalid; input.setCustomValidity(T.rate_invalid); return;
  }
  const cap = Number(input.dataset.cap);
  const loan = Number($("loan").value) || 0, fees = Number($("fees").value) || 0, term = Number($("term").value) || 0;
  const eff = year + (loan > 0 && term > 0 ? fees / loan * 365 / term * 100 : 0);
  const same = `${T.rate_same_as} ${fmt(year)} ${T.unit_year_pct} · ${fmt(year / 12)} ${T.unit_month_pct} · `
    + `${fmt(year * 10000 / 365, 2)} ${T.unit_vnd_per_million_day}`;
  const above = eff > cap + 1e-9;
  note.replaceChildren(same);
  if (above) note.append(el("strong", { class: "rate-cap", id: "rate-cap" }, " " + T.rate_above_cap.replace("{cap}", fmt(cap)).replace("{eff}", fmt(eff, 2))));
  note.classList.toggle("above-cap", above);
  input.setCustomValidity(above ? T.rate_above_cap.replace("{cap}", fmt(cap)).replace("{eff}", fmt(eff, 2)) : "");
}

// a new unit converts the rate on screen (the same rate, said another way)
let lastUnit = "year_pct";
function changeUnit() {
  const unit = $("rate-unit").value;
  const v = Number(decimalText($("rate").value));
  if (Number.isFinite(v) && $("rate").value.trim()) {
    const year = v * RATE_TO_YEAR[lastUnit];
    $("rate").value = String(Math.round(year / RATE_TO_YEAR[unit] * 10000) / 10000);
  }
  lastUnit = unit;
  showRate();
}

function resetRate() {
  if (!$("rate-unit")) return;
  $("rate-unit").value = "year_pct"; lastUnit = "year_pct";
  showRate();
}

// --- the money of a contract ----------------------------------------------------------------------
const MONEY_ACTIONS = ["interest_paid", "partial_payment", "principal_added", "extended", "redeemed", "liquidated"];
const OTHER_ACTIONS = ["forfeited", "suspicious"];
const NEEDS = { partial_payment: "money-amount", principal_added: "money-amount", liquidated: "money-sale", extended: "money-days",
                forfeited: "money-reason", suspicious: "money-reason", interest_paid: "money-interest-to" };
const ALLOWED = { active: ["interest_paid", "partial_payment", "principal_added", "extended", "redeemed", "forfeited", "suspicious"],
                  forfeited: ["liquidated", "suspicious"] };
const AMOUNT_ROWS = ["interest_vnd", "principal_in_vnd", "principal_out_vnd", "fees_vnd", "sale_vnd", "surplus_vnd"];

let moneyView = null;    // the contract on the money panel (GET /api/v1/transactions/{id})
let pending = null;      // the action in the dialog: {type, params, quote, key}

const todayVn = () => new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 10);

async function openMoney(id) {
  const panel = $("money-panel");
  if (!panel) return;
  let v;
  try { v = await api("GET", "/api/v1/transactions/" + encodeURIComponent(id)); }
  catch (e) { panel.hidden = false; $("money-result").replaceChildren(errorBox(e, T.error)); return; }
  const released = moneyView && moneyView.id === v.id && moneyView.hold && !v.hold;  // the police released it just now
  moneyView = v;
  panel.hidden = false;
  panel.dataset.id = v.id;
  $("money-contract").textContent = `${v.contract_no} · ${T[v.status] || v.status}`;
  const m = v.money;
  const dl = $("money-figures");
  dl.replaceChildren();
  const row = (key, label, value, big) => dl.append(el("dt", {}, label), el("dd", { "data-money": key, class: big ? "big" : "" }, value));
  if (m) {
    row("interest_due_vnd", T.interest_due, vnd(m.interest_due_vnd), true);
    row("to_redeem_vnd", T.to_redeem, vnd(m.to_redeem_vnd), true);
    row("principal_vnd", T.principal_now, vnd(m.principal_vnd));
    row("interest_to", T.interest_to, vdate(m.interest_to));
    row("total_due_at_maturity_vnd", `${T.at_maturity} (${vdate(v.due_date)})`, vnd(m.total_due_at_maturity_vnd));
    row("paid_vnd", T.paid_so_far, vnd(m.paid_vnd));
    if (m.overdue_days) row("overdue_days", T.overdue_days, `${m.overdue_days} ${T.days}`, true);
  } else {
    dl.append(el("dd", { class: "small" }, T.money_unavailable));
  }
  const allowed = ALLOWED[v.status] || ["suspicious"];
  const box = $("money-actions");
  box.replaceChildren();
  for (const type of [...MONEY_ACTIONS, ...OTHER_ACTIONS]) {
    if (!allowed.includes(type)) continue;
    const b = el("button", { type: "button", id: "money-act-" + type, class: OTHER_ACTIONS.includes(type) ? "secondary" : "",
                             onclick: () => startAction(type) }, T["act_" + type]);
    if (heldFor(type)) { b.disabled = true; b.title = T.hold_button; b.setAttribute("aria-describedby", "hold-banner"); }
    box.append(b);
  }
  if (!box.children.length) box.append(el("p", { class: "small" }, T.no_money_action));
  showHold($("hold-banner"), v.hold);
  if (released) { $("money-result").textContent = T.hold_released; $("money-result").className = "money-result ok"; }
  const d = $("money-dialog");
  if (d.open && pending && $("dialog-receipt").hidden) {  // an action waiting for its confirmation: what the hold says now
    const hold = heldFor(pending.type) ? v.hold : null;
    if (!hold || $("dialog-hold").dataset.holdId !== hold.hold_id) showHold($("dialog-hold"), hold);  // keeps a 409's sentence
    $("dialog-confirm").disabled = !!hold;
  }
}

// the open contract's active hold forbids `type` (verifier/api/police.py BLOCKS)
const heldFor = (type) => !!(moneyView && moneyView.hold && (moneyView.hold.blocks || []).includes(type));

// A police hold hits the open contract (counter.js, `police_message` of the event stream): redraw its panel.
function policeHoldChanged(d) {
  if (moneyView && d.txn_id === moneyView.id) openMoney(moneyView.id);
}

function actionParams(type) {
  const p = {};
  if (NEEDS[type] === "money-amount") p.amount_vnd = Number($("money-amount").value);
  if (NEEDS[type] === "money-sale") p.sale_vnd = Number($("money-sale").value);
  if (NEEDS[type] === "money-days") p.extend_days = Number($("money-days").value);
  if (NEEDS[type] === "money-interest-to" && $("money-interest-to").value) p.interest_to = $("money-interest-to").value;  // paid ahead
  if (NEEDS[type] === "money-reason") p.reason = $("money-reason").value.trim();
  const fees = Number($("money-fees").value);
  if (["interest_paid", "extended", "redeemed"].includes(type) && fees > 0) p.fees_vnd = fees;  // phí thu kèm
  return p;
}

async function startAction(type) {
  const result = $("money-result");
  result.replaceChildren(); result.className = "money-result";
  const params = actionParams(type);
  const need = NEEDS[type];
  if (need && ((params.amount_vnd !== undefined && !(params.amount_vnd > 0)) || (params.sale_vnd !== undefined && !(params.sale_vnd > 0))
               || (params.extend_days !== undefined && !(params.extend_days > 0))
               || (params.reason !== undefined && !params.reason))) {
    result.textContent = need === "money-reason" ? T.reason_needed : T.amount_needed;
    result.className = "money-result error";
    $(need).focus();
    return;
  }
  pending = { type, params, quote: null, key: crypto.randomUUID() };
  if (MONEY_ACTIONS.includes(type)) {
    result.textContent = T.working;
    try { pending.quote = await fetchQuote(type, params); }
    catch (e) {
      if (e.code === "item_on_hold") { openMoney(moneyView.id); result.textContent = ""; return; }  // the panel shows it, locked
      result.replaceChildren(errorBox(e, T.error)); result.className = "money-result error"; return;
    }
    result.textContent = "";
  }
  openDialog(false);
}

function fetchQuote(type, params) {
  const q = new URLSearchParams({ type, on: (moneyView.money && moneyView.money.as_of) || todayVn() });
  for (const k of ["amount_vnd", "sale_vnd", "extend_days", "interest_to", "fees_vnd"]) if (params[k] !== undefined) q.set(k, String(params[k]));
  return api("GET", `/api/v1/transactions/${encodeURIComponent(moneyView.id)}/quote?${q}`);
}

// amounts in figures (dot separators, ₫), in words where the quote gives them (`..._words`)
function showQuote(quote) {
  const dl = $("dialog-amounts");
  dl.replaceChildren();
  if (!quote) {
    if (pending.params.reason) dl.append(el("dt", {}, T.reason), el("dd", {}, pending.params.reason));
    return;
  }
  const m = quote.money || {};
  const words = (k) => /_vnd$/.test(k) ? m[k.replace(/_vnd$/, "_words")] || quote[k.replace(/_vnd$/, "_words")] : null;
  const add = (key, label, value, cls) => {
    dl.append(el("dt", {}, label), el("dd", { "data-amount": key, class: cls || "" }, value));
    const w = words(key);
    if (w) dl.append(el("dt", { class: "small" }, T.in_words), el("dd", { class: "words", "data-words": key }, w));
  };
  for (const k of AMOUNT_ROWS) if (m[k]) add(k, T["m_" + k], vnd(m[k]));
  if (m.interest_to) add("interest_to", T.m_interest_to, vdate(m.interest_to));
  if (quote.new_due_date) add("new_due_date", T.new_due_date, vdate(quote.new_due_date), "big");
  add("cash_in_vnd", T.cash_in, vnd(m.cash_in_vnd || 0), "big");
  add("cash_out_vnd", T.cash_out, vnd(m.cash_out_vnd || 0), "big");
}

function openDialog(changed) {
  const d = $("money-dialog");
  $("dialog-title").textContent = T.confirm_title.replace("{action}", T["act_" + pending.type]);
  $("dialog-contract").textContent = `${T.contract} ${moneyView.contract_no} · ${(moneyView.pawner || {}).full_name || ""}`;
  $("dialog-changed").hidden = !changed;
  showHold($("dialog-hold"), heldFor(pending.type) ? moneyView.hold : null);
  $("dialog-error").hidden = true;
  $("dialog-receipt").hidden = true;
  $("dialog-confirm").hidden = false; $("dialog-confirm").disabled = heldFor(pending.type);
  d.dataset.type = pending.type;
  showQuote(pending.quote);
  if (!d.open) d.showModal();
  $("dialog-confirm").focus();
}

// A police hold in `box`: the contract's `hold` or the details of a 409 item_on_hold (`message`: its sentence). The
// reason large and red, the case number, until when (a Vietnamese calendar day; none: until released), who ordered it
// and when it reached the shop (local time, labelled), and what it forbids. hold null: the box is emptied and hidden.
function showHold(box, hold, message) {
  if (!hold) { box.replaceChildren(); box.hidden = true; delete box.dataset.holdId; return; }
  const until = hold.until ? T.hold_until_day.replace("{date}", `${vdate(hold.until)} (${T.time_label})`) : T.hold_until_release;
  const at = hold.received_at || hold.issued_at;
  box.replaceChildren(
    el("strong", { class: "hold-title" }, T.on_hold_title),
    el("div", { class: "hold-reason", "data-hold": "reason" }, `${T.hold_reason}: ${hold.reason || "—"}`),
    hold.case_no ? el("div", { class: "hold-ref", "data-hold": "case_no" }, `${T.hold_case}: ${hold.case_no}`) : null,
    el("div", { class: "hold-ref", "data-hold": "until" }, `${T.hold_until.charAt(0).toUpperCase()}${T.hold_until.slice(1)}: ${until}`),
    hold.issued_by && at ? el("div", { class: "hold-ref", "data-hold": "issued" },
                              T.hold_issued.replace("{by}", hold.issued_by).replace("{at}", localTime(at))) : null,
    el("div", { class: "hold-ref", "data-hold": "blocked" }, message || T.hold_blocked));
  box.dataset.holdId = hold.hold_id || "";
  box.hidden = false;
}

async function confirmAction() {
  const btn = $("dialog-confirm");
  btn.disabled = true;
  $("dialog-error").hidden = true;
  const body = { type: pending.type, ...pending.params };
  if (pending.quote) {
    const m = pending.quote.money || {};
    body.expected = { cash_in_vnd: m.cash_in_vnd || 0, cash_out_vnd: m.cash_out_vnd || 0 };
  }
  let r;
  try {
    r = await api("POST", `/api/v1/transactions/${encodeURIComponent(moneyView.id)}/events`, body, { "Idempotency-Key": pending.key });
  } catch (e) {
    if (e.code === "amount_changed") {  // nothing recorded: the fresh quote, to confirm again with a new key
      const fresh = e.details.quote || (e.details.money ? e.details : null);
      try { pending.quote = fresh || await fetchQuote(pending.type, pending.params); } catch (e2) { /* keep the old one */ }
      pending.key = crypto.randomUUID();
      openDialog(true);
      return;
    }
    if (e.code === "item_on_hold") {  // held since the panel was drawn: say so, lock, and redraw the panel
      showHold($("dialog-hold"), e.details, e.message);
      openMoney(moneyView.id);
      return;
    }
    $("dialog-error").replaceChildren(errorBox(e, T.error)); $("dialog-error").hidden = false;
    btn.disabled = false;
    return;
  }
  btn.hidden = true;
  $("dialog-changed").hidden = true;
  $("dialog-seq").textContent = `${moneyView.contract_no} · #${r.seq}`;
  const receipt = (layout) => `/api/v1/transactions/${encodeURIComponent(moneyView.id)}/receipts/${r.seq}?layout=${layout}`;
  $("receipt-a5").href = receipt("a5");
  $("receipt-80mm").href = receipt("80mm");
  // a receipt is printed for what moved money, and a slip (biên bản) for a forfeiture
  const money = MONEY_ACTIONS.includes(pending.type) || pending.type === "forfeited";
  $("dialog-receipt").hidden = false;
  $("dialog-receipt").dataset.seq = String(r.seq);
  $("receipt-a5").parentElement.hidden = !money;
  (money ? $("receipt-a5") : $("dialog-close")).focus();
  $("money-result").textContent = `${T.recorded}: ${T["act_" + pending.type]}`;
  $("money-result").className = "money-result ok";
  const id = moneyView.id;
  await openMoney(id);
  if (typeof openContract === "function" && $("detail") && !$("detail").hidden) openContract(id);
  if (typeof runSearch === "function") runSearch(1);
}

document.addEventListener("DOMContentLoaded", () => {
  if ($("rate-unit")) {
    $("rate-unit").addEventListener("change", changeUnit);
    for (const id of ["rate", "loan", "fees", "term"]) $(id).addEventListener("input", showRate);
    showRate();
  }
  if (!$("money-panel")) return;
  // "Mở" on a search result opens its money too (the rows are drawn by common.js runSearch)
  $("results").addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.open");
    const tr = btn && btn.closest("tr[data-id]");
    if (tr) openMoney(tr.dataset.id);
  });
  $("dialog-confirm").addEventListener("click", confirmAction);
  $("dialog-close").addEventListener("click", () => $("money-dialog").close());
});
