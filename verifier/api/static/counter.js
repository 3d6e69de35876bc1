// The clerk's counter: read the card, show identity and checks, face step with consent, pawn form, print.
"use strict";
let currentScan = null;
let polling = null;
const LANG = document.documentElement.lang;
const HOLDER_LABELS = {
  vi: { full_name: "Họ và tên", id_number: "Số CCCD", date_of_birth: "Ngày sinh", sex: "Giới tính", nationality: "Quốc tịch",
        place_of_origin: "Quê quán", place_of_residence: "Nơi thường trú", issue_date: "Ngày cấp", expiry_date: "Có giá trị đến" },
  en: { full_name: "Full name", id_number: "ID number", date_of_birth: "Date of birth", sex: "Sex", nationality: "Nationality",
        place_of_origin: "Place of origin", place_of_residence: "Place of residence", issue_date: "Issued", expiry_date: "Expires" },
};

function accessFromInput() {
  const v = $("access-key").value.trim();
  if (!v) return {};
  if (/^\d{6}$/.test(v)) return { can: v };
  return { qr: v };
}

// step: the scan's step with its label (verifier/results.py ScanStep); shown when it says more than the status
function setProgress(status, step) {
  const label = step && step.step !== status ? (LANG === "en" ? step.label : step.label_vi) : "";
  $("scan-progress").textContent = (T[status] || status) + (label && status !== "done" ? ` (${label})` : "");
  $("scan-progress").dataset.status = status;
}

// CCCD trust (GET /api/v1/health trust_store.cccd): say plainly when genuine cards cannot be fully verified,
// what to install and where Vietnam publishes it. Not in demo mode (the demo card has its own banner).
function trustBanner(h) {
  const c = (h.trust_store || {}).cccd;
  const show = !h.demo && c && !c.fully;
  $("trust-banner").hidden = !show;
  $("trust-banner").textContent = show ? (LANG === "en" ? c.message : c.message_vi) : "";
}

// Fail-stop ledger (GET /api/v1/health ledger.failed): the counter must not look as if it still records contracts.
function ledgerBanner(h) {
  const l = h.ledger || {};
  $("ledger-banner").hidden = !l.failed;
  $("ledger-banner").textContent = l.failed ? (LANG === "en" ? l.failed_message : l.failed_vi) : "";
}

async function health() {
  try {
    const h = await api("GET", "/api/v1/health");
    $("reader-status").textContent = `${h.reader.name} · ${h.reader.busy ? T.reader_busy : T.reader_ready}` + (h.demo ? ` · ${T.demo}` : "");
    $("reader-status").className = "badge " + (h.reader.busy ? "refer" : "ok");
    trustBanner(h);
    ledgerBanner(h);
  } catch (e) { $("reader-status").textContent = e.message; }
  try {
    const s = await api("GET", "/api/v1/sync");
    $("sync-status").textContent = (s.summary && (s.summary[LANG] || s.summary.vi)) || "";
  } catch (e) { $("sync-status").textContent = ""; }
}

async function startScan(ev) {
  if (ev) ev.preventDefault();
  resetCustomer(false);
  $("read-card").disabled = true;
  try {
    const r = await api("POST", "/api/v1/scans", accessFromInput());
    currentScan = r.id;
    setProgress("waiting_for_card");
    poll();
  } catch (e) { setProgress("failed"); $("scan-progress").replaceChildren(errorBox(e, T.error)); $("read-card").disabled = false; }
}

function poll() {
  clearTimeout(polling);
  polling = setTimeout(async () => {
    if (!currentScan) return;
    let s;
    try { s = await api("GET", "/api/v1/scans/" + currentScan); } catch (e) { setProgress("failed"); $("read-card").disabled = false; return; }
    setProgress(s.status, s);
    if (s.status === "done") showResult(s);
    else if (s.status === "failed") { $("scan-progress").replaceChildren(errorBox(s.error || {}, T.failed)); $("read-card").disabled = false; health(); }
    else poll();
  }, 300);
}

function checkLabel(name) {
  const dg = /^dg_hash_(\d+)$/.exec(name);
  if (dg) return (T.check_dg_hash || name).replace("{n}", dg[1]);
  return T["check_" + name] || name;
}

function showResult(s) {
  const r = s.result || {};
  $("read-card").disabled = false;
  $("identity").hidden = false;
  $("verdict").textContent = T[r.verdict] || r.verdict;
  $("verdict").className = "badge " + r.verdict;
  $("scan-demo").hidden = !r.demo;
  $("chip-photo").src = `/api/v1/scans/${s.id}/portrait`;
  const dl = $("holder"); dl.replaceChildren();
  const labels = HOLDER_LABELS[LANG] || HOLDER_LABELS.vi;
  const h = r.holder || {};
  for (const k of Object.keys(labels)) if (h[k]) dl.append(el("dt", {}, labels[k]), el("dd", { "data-field": k }, /date/.test(k) ? vdate(h[k]) : h[k]));
  const dg13 = r.dg13_error;  // DG13 unreadable: some fields come from the MRZ, the rest is missing
  $("dg13-warning").hidden = !dg13;
  $("dg13-warning").textContent = dg13 ? (LANG === "vi" ? dg13.reason_vi : dg13.reason) || dg13.reason_vi : "";
  const ul = $("checks"); ul.replaceChildren();
  const checks = Array.isArray(r.checks) ? r.checks : Object.entries(r.checks || {}).map(([name, c]) => ({ name, ...c }));
  for (const c of checks) {
    ul.append(el("li", { "data-check": c.name }, el("span", { class: "badge " + c.status }, T[c.status] || c.status), " ", checkLabel(c.name), " – ",
                 (LANG === "vi" ? c.reason_vi : c.reason) || c.reason || ""));
  }
  $("take-photo").disabled = !$("consent").checked;
  $("consent").focus();
  health();
}

async function takePhoto() {
  if (!currentScan || !$("consent").checked) return;
  $("take-photo").disabled = true;
  $("face-decision").textContent = "…";
  try {
    const d = await api("POST", `/api/v1/scans/${currentScan}/face`, { consent: true, camera: true });
    $("face-decision").textContent = (T[d.decision] || d.decision) + (d.score !== null && d.score !== undefined ? ` (${d.score}/100)` : "");
    $("face-decision").className = "badge " + d.decision;
    $("face-reasons").textContent = (d.reasons || []).map((x) => (LANG === "vi" ? x.vi || x.reason_vi : x.en || x.reason) || x.text || x.code || "").join(" ");
    $("camera-photo").src = `/api/v1/scans/${currentScan}/camera?t=${Date.now()}`;
    $("camera-photo").hidden = false;
    $("pawn-panel").hidden = false;
    $("refer-row").hidden = d.decision !== "refer";
    $("saved").hidden = true;
    $("item-description").focus();
  } catch (e) { $("face-decision").replaceChildren(errorBox(e, T.error)); $("face-decision").className = "badge bad"; }
  $("take-photo").disabled = false;
}

async function submitPawn(ev) {
  ev.preventDefault();
  const err = $("pawn-error"); err.hidden = true;
  const item = { description: $("item-description").value, category: $("item-category").value, serial: $("item-serial").value };
  if ($("item-brand").value) item.brand = $("item-brand").value;
  if ($("item-condition").value) item.condition = $("item-condition").value;
  const body = {
    scan_id: currentScan, items: [item], valuation_vnd: Number($("valuation").value), loan_vnd: Number($("loan").value),
    interest_rate_year_pct: Number($("rate").value), term_days: Number($("term").value), fees_vnd: Number($("fees").value || 0),
    ownership_evidence: $("ownership").value, notes: $("notes").value, face_refer_confirmed: $("refer-confirm").checked,
  };
  if ($("override") && $("override").value.trim()) body.override_reason = $("override").value.trim();
  $("confirm").disabled = true;
  try {
    const r = await api("POST", "/api/v1/transactions", body);
    $("contract-no").textContent = r.contract_no;
    $("print-link").href = `/contracts/${r.id}/print`;
    $("pdf-link").href = `/api/v1/transactions/${r.id}/contract.pdf`;
    $("saved").hidden = false;
    $("print-link").focus();
    runSearch(1);
  } catch (e) { err.replaceChildren(errorBox(e, T.error)); err.hidden = false; }
  $("confirm").disabled = false;
}

function resetCustomer(focus) {
  currentScan = null;
  $("identity").hidden = true; $("pawn-panel").hidden = true; $("saved").hidden = true;
  $("consent").checked = false; $("camera-photo").hidden = true; $("camera-photo").removeAttribute("src");
  $("face-decision").textContent = ""; $("face-reasons").textContent = ""; $("pawn-form").reset();
  $("scan-progress").textContent = "";
  if (focus) $("read-card").focus();
}

function listen() {
  if (!window.EventSource) return;
  const es = new EventSource("/api/v1/events");
  es.addEventListener("scan", (m) => { const d = JSON.parse(m.data); if (d.scan_id === currentScan) { setProgress(d.status, d); if (d.status === "done" || d.status === "failed") poll(); } });
  es.addEventListener("card_inserted", () => {
    health();
    // a tap starts the read when the counter is idle (no customer on screen)
    if (!currentScan && $("identity").hidden && !$("read-card").disabled) startScan();
  });
  es.addEventListener("card_removed", () => health());
}

document.addEventListener("DOMContentLoaded", () => {
  document.body.dataset.canAct = "1";
  $("scan-form").addEventListener("submit", startScan);
  $("consent").addEventListener("change", () => { $("take-photo").disabled = !$("consent").checked || !currentScan; });
  $("take-photo").addEventListener("click", takePhoto);
  $("pawn-form").addEventListener("submit", submitPawn);
  $("new-customer").addEventListener("click", () => resetCustomer(true));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "F2") { ev.preventDefault(); startScan(); }
    if (ev.key === "F4") { ev.preventDefault(); takePhoto(); }
  });
  health(); listen(); runSearch(1);
  $("read-card").focus();
});
