// The clerk's counter (issue 17 items 1, 2): read the card, show one large verdict with why and what to do, the chip and
// camera photos with the face decision, the holder's data, the technical checks folded; the pawn form opens only when
// the verdict and the face decision allow a contract (the server's rule: verifier/ledger/pawn.py admit), a manager's
// written override being the one way past a verdict. Scan progress and results arrive over the event stream
// (GET /api/v1/events): nothing here polls. Issue 18: the items of the contract are items.js's, the rate in its unit
// and the money actions on a found contract money.js's. Issue 19 item 2: a `police_message` of the stream redraws at
// once the police notices' banner (notices.js) and the hold of the contract on the money panel (money.js).
"use strict";
let currentScan = null;     // the scan id on screen
let currentResult = null;   // its result (README "chipid read --json")
let currentFace = null;     // its face decision (POST /api/v1/scans/{id}/face)
let overrideReason = "";    // a manager's accepted written reason for a verdict other than authentic or a face no_match
let overrideFace = false;   // that reason was given with the face no_match on screen
let canOverride = false;    // GET /api/v1/me: the user's role holds txn.override
let stream = null;          // the EventSource of /api/v1/events
// Nothing doubled (issue 17 item 3): one Idempotency-Key per contract form, sent with every confirm of that form (a retry
// or a second click gets the first answer, README "Idempotency-Key"); a new one only with "Khách mới" (resetCustomer).
let contractKey = crypto.randomUUID();
let contractSaved = false;  // this form's contract is saved: confirm stays disabled until "Khách mới"
let saving = false;         // the confirm request is in flight
const seenScanEvents = new Map();  // scan id -> its last terminal event, for an event that beats the POST's answer
const LANG = document.documentElement.lang;
const POLICY = JSON.parse(($("verdict-policy") || {}).textContent || '{"decisive": [], "required": []}');
// every holder field of the scan result (verifier/results.py HOLDER_FIELDS), in the order a clerk reads a card
const HOLDER_ORDER = ["full_name", "id_number", "date_of_birth", "sex", "nationality", "ethnicity", "religion", "place_of_origin",
  "place_of_residence", "personal_identification", "father_name", "mother_name", "spouse_name", "old_id_number", "issue_date",
  "expiry_date"];
const STEP_PERCENT = { waiting_for_card: 10, reading: 45, card_lifted: 45, card_back: 55, verifying: 85, done: 100, failed: 100 };

const say = (en, vi) => (LANG === "en" ? en : vi) || vi || en || "";

function accessFromInput() {
  const v = $("access-key").value.trim();
  if (!v) return {};
  if (/^\d{6}$/.test(v)) return { can: v };
  return { qr: v };
}

// status: the scan's coarse state; step: the event or scan view with step, label and label_vi (verifier/results.py ScanStep)
function setProgress(status, step) {
  const name = (step && step.step) || status;
  $("progress-row").hidden = false;
  $("scan-progress").textContent = step && step.label_vi ? say(step.label, step.label_vi) : (T[status] || status);
  $("scan-progress").dataset.status = status;
  $("scan-progress").dataset.step = name;
  const pct = STEP_PERCENT[name] || 0;
  $("scan-bar").setAttribute("aria-valuenow", String(pct));
  $("scan-bar").dataset.status = status;
  $("scan-bar-fill").style.width = pct + "%";
}

// CCCD trust (GET /api/v1/health trust_store.cccd): say plainly when genuine cards cannot be fully verified,
// what to install and where Vietnam publishes it. Not in demo mode (the demo card has its own banner).
function trustBanner(h) {
  const c = (h.trust_store || {}).cccd;
  // while a card's verdict is on screen, its own sentence says what this banner says (and keeps the form above the fold)
  const show = !h.demo && c && !c.fully && $("verdict-panel").hidden;
  $("trust-banner").hidden = !show;
  $("trust-banner").textContent = show ? (LANG === "en" ? c.message : c.message_vi) : "";
}

// Fail-stop ledger (GET /api/v1/health ledger.failed): the counter must not look as if it still records contracts.
function ledgerBanner(h) {
  const l = h.ledger || {};
  $("ledger-banner").hidden = !l.failed;
  $("ledger-banner").textContent = l.failed ? (LANG === "en" ? l.failed_message : l.failed_vi) : "";
}

// Damaged ledger (GET /api/v1/health ledger.damaged, issue 17 item 6): loud, not fatal. A red banner names the first
// bad entry; the counter keeps working (new contracts are still recorded, the police are told by the next batch).
function damagedBanner(h) {
  const d = (h.ledger || {}).damaged;
  const b = $("ledger-damaged-banner");
  b.hidden = !d;
  if (!d) { b.replaceChildren(); b.removeAttribute("data-seq"); return; }
  b.dataset.seq = String(d.first_bad_seq);
  b.replaceChildren(el("strong", {}, T.ledger_damaged_title), " – ", T.ledger_damaged_entry.replace("{seq}", d.first_bad_seq), ". ",
                    say(d.reason, d.reason_vi), " ", T.ledger_damaged_goes_on);
}

async function health() {
  try {
    const h = await api("GET", "/api/v1/health");
    $("reader-status").textContent = `${h.reader.name} · ${h.reader.busy ? T.reader_busy : T.reader_ready}` + (h.demo ? ` · ${T.demo}` : "");
    $("reader-status").className = "badge " + (h.reader.busy ? "refer" : "ok");
    trustBanner(h);
    ledgerBanner(h);
    damagedBanner(h);
  } catch (e) { $("reader-status").textContent = e.message; }
  try {
    const s = await api("GET", "/api/v1/sync");
    $("sync-status").textContent = (s.summary && (s.summary[LANG] || s.summary.vi)) || "";
  } catch (e) { $("sync-status").textContent = ""; }
}

// who is at the counter: only a role with txn.override sees the manager's override
async function loadMe() {
  try {
    const me = await api("GET", "/api/v1/me");
    canOverride = (me.permissions || []).includes("txn.override");
  } catch (e) { canOverride = false; }
  applyAdmission();
}

// fromCamera: the counter camera reads the card's QR code and the server starts the scan with it (issue 17 item 11);
// a handheld USB QR scanner types the QR text (| separators) and Enter into the access-key field: the form's submit
async function startScan(ev, fromCamera) {
  if (ev) ev.preventDefault();
  resetCustomer(false, true);
  $("read-card").disabled = true;
  if ($("read-qr-camera")) $("read-qr-camera").disabled = true;
  try {
    const r = fromCamera ? await api("POST", "/api/v1/scans/from-camera")
                         : await api("POST", "/api/v1/scans", accessFromInput());
    currentScan = r.id;
    setProgress("waiting_for_card");
    if (seenScanEvents.has(r.id)) onScanEvent(seenScanEvents.get(r.id));  // it finished before the answer came
    else if (!stream || stream.readyState !== 1) loadScan(r.id);  // the stream is (re)connecting: look once
  } catch (e) { scanFailed(e); }
  finally { if ($("read-qr-camera")) $("read-qr-camera").disabled = false; }
}

// a `scan` event of the stream: progress in words, then the finished scan fetched once
function onScanEvent(d) {
  if (d.status === "done" || d.status === "failed") {
    seenScanEvents.set(d.scan_id, d);
    if (seenScanEvents.size > 50) seenScanEvents.delete(seenScanEvents.keys().next().value);
  }
  if (d.scan_id !== currentScan) return;
  setProgress(d.status, d);
  if (d.status === "done" || d.status === "failed") loadScan(d.scan_id);
}

async function loadScan(id) {
  let s;
  try { s = await api("GET", "/api/v1/scans/" + id); } catch (e) { if (id === currentScan) scanFailed(e); return; }
  if (id !== currentScan) return;
  setProgress(s.status, s);
  if (s.status === "done") showResult(s);
  else if (s.status === "failed") scanFailed(s.error || {}, T.failed);
}

function scanFailed(e, prefix) {
  setProgress("failed");
  $("scan-progress").replaceChildren(errorBox(e, prefix || T.error));
  $("read-card").disabled = false;
  health();
}

function checkLabel(name) {
  const dg = /^dg_hash_(\d+)$/.exec(name);
  if (dg) return (T.check_dg_hash || name).replace("{n}", dg[1]);
  return T["check_" + name] || name;
}

const checkList = (r) => Array.isArray(r.checks) ? r.checks : Object.entries(r.checks || {}).map(([name, c]) => ({ name, ...c }));
const family = (name) => /^dg_hash_\d+$/.test(name) ? "dg_hashes" : name;

// The check that decided a verdict other than authentic (README "Verdict policy", verifier/verdict.py decide): the
// first decisive check that failed, or the first required check that did not pass.
function decidingCheck(r) {
  const checks = checkList(r);
  if (r.verdict === "not_authentic") return checks.find((c) => c.status === "failed" && POLICY.decisive.includes(family(c.name)));
  if (r.verdict !== "unverified") return null;
  for (const name of POLICY.required) {
    const found = checks.filter((c) => family(c.name) === name);
    const bad = found.find((c) => c.status !== "passed");
    if (bad) return bad;
    if (!found.length) return { name, status: "not_performed" };
  }
  return null;
}

function verdictWhy(r) {
  const c = decidingCheck(r);
  if (c && (c.reason_vi || c.reason)) return say(c.reason, c.reason_vi);
  return T["why_" + r.verdict] || "";
}

function showVerdict(r) {
  const panel = $("verdict-panel");
  panel.hidden = false;
  panel.className = "verdict-panel " + r.verdict;
  $("verdict").textContent = T[r.verdict] || r.verdict;
  $("verdict-why").textContent = verdictWhy(r);
  $("verdict-todo").textContent = T["todo_" + r.verdict] || "";
  $("scan-demo").hidden = !r.demo;
}

function showHolder(r) {
  const dl = $("holder"); dl.replaceChildren();
  const h = r.holder || {};
  for (const k of HOLDER_ORDER) {
    const v = h[k];
    const shown = v ? (/date/.test(k) && /^\d{4}-\d\d-\d\d/.test(v) ? vdate(v) : v) : "—";
    dl.append(el("dt", {}, T["holder_" + k] || k), el("dd", { "data-field": k }, shown));
  }
  const verified = r.holder_verified === true || (r.holder_verified === undefined && r.verdict === "authentic");
  $("holder-unverified").hidden = verified;
  dl.classList.toggle("unverified", !verified);
  const dg13 = r.dg13_error;  // DG13 unreadable: some fields come from the MRZ, the rest is missing
  $("dg13-warning").hidden = !dg13;
  $("dg13-warning").textContent = dg13 ? (LANG === "vi" ? dg13.reason_vi : dg13.reason) || dg13.reason_vi : "";
}

function showChecks(r) {
  const ul = $("checks"); ul.replaceChildren();
  const count = { passed: 0, failed: 0, not_performed: 0 };
  for (const c of checkList(r)) {
    count[c.status] = (count[c.status] || 0) + 1;
    ul.append(el("li", { "data-check": c.name }, el("span", { class: "badge " + c.status }, T[c.status] || c.status), " ", checkLabel(c.name), " – ",
                 say(c.reason, c.reason_vi)));
  }
  $("checks-summary").textContent = T.checks_summary.replace("{passed}", count.passed).replace("{failed}", count.failed)
    .replace("{np}", count.not_performed);
  $("checks-details").open = false;
}

function showResult(s) {
  const r = s.result || {};
  currentResult = r;
  $("read-card").disabled = false;
  $("progress-row").hidden = true;
  showVerdict(r);
  $("trust-banner").hidden = true;  // the verdict says it for this card (trustBanner)
  $("identity").hidden = false;
  $("chip-photo").src = `/api/v1/scans/${s.id}/portrait`;
  showHolder(r);
  showChecks(r);
  $("take-photo").disabled = !$("consent").checked;
  applyAdmission();
  window.scrollTo(0, 0);
  $("consent").focus({ preventScroll: true });
  health();
}

async function takePhoto() {
  if (!currentScan || !$("consent").checked) return;
  $("take-photo").disabled = true;
  $("face-decision").textContent = "…";
  $("face-decision").className = "badge";
  try {
    showFace(await api("POST", `/api/v1/scans/${currentScan}/face`, { consent: true, camera: true }));
  } catch (e) { $("face-decision").replaceChildren(errorBox(e, T.error)); $("face-decision").className = "badge bad"; }
  $("take-photo").disabled = false;
}

function showFace(d) {
  currentFace = d;
  $("face-decision").textContent = (T[d.decision] || d.decision) + (d.score !== null && d.score !== undefined ? ` (${d.score}/100)` : "");
  $("face-decision").className = "badge " + d.decision;
  $("face-reasons").textContent = (d.reasons || []).map((x) => (LANG === "vi" ? x.vi || x.reason_vi : x.en || x.reason) || x.text || x.code || "").join(" ");
  $("camera-photo").src = `/api/v1/scans/${currentScan}/camera?t=${Date.now()}`;
  $("camera-photo").hidden = false;
  $("camera-empty").hidden = true;
  $("refer-confirm").checked = false;
  $("refer-row").hidden = d.decision !== "refer";
  if (!contractSaved) $("saved").hidden = true;
  applyAdmission();
  if (!$("pawn-panel").hidden) $("item-description").focus({ preventScroll: true });
}

// What the server's admission rule (admission.admit) would say now: the verdict needs `authentic` or a manager's
// written reason; the face needs `match`, `refer` confirmed by the clerk, or a `no_match` the manager accepted in
// writing after seeing it (overrideFace: a reason given before the face step does not cover a later no_match).
function admission() {
  if (!currentResult) return { open: false };
  const verdictOk = currentResult.verdict === "authentic" || !!overrideReason;
  const d = currentFace && currentFace.decision;
  const faceOk = d === "match" || (d === "refer" && $("refer-confirm").checked) || (d === "no_match" && overrideFace);
  let block = null;
  if (!verdictOk) block = { kind: "verdict", text: `${T.block_prefix}: ${T[currentResult.verdict]} – ${verdictWhy(currentResult)} ${T.call_manager}` };
  else if (d === "no_match" && !overrideFace) block = { kind: "face", text: `${T.block_prefix}: ${T.block_face}` };
  else if (d && d !== "match" && d !== "refer") block = { kind: "retry", text: T.face_retry };
  else if (d === "refer" && !faceOk) block = { kind: "retry", text: T.face_refer_todo };
  return { open: verdictOk && faceOk, block, needsOverride: !verdictOk || (d === "no_match" && !overrideFace) };
}

function applyAdmission() {
  const a = admission();
  const notice = $("block-notice");
  notice.hidden = !a.block;
  notice.textContent = a.block ? a.block.text : "";
  notice.className = "block-notice " + (a.block ? a.block.kind : "");
  if ($("override-box")) $("override-box").hidden = !(a.needsOverride && canOverride);
  $("override-active").hidden = !overrideReason;
  if (currentResult && currentResult.verdict !== "authentic")  // what to do now: the manager's exception, once given
    $("verdict-todo").textContent = overrideReason ? `${T.override_active}: ${overrideReason}` : (T["todo_" + currentResult.verdict] || "");
  $("pawn-panel").hidden = !a.open;
  $("pawn-fields").disabled = !a.open || contractSaved;
  $("action-panel").hidden = notice.hidden && $("pawn-panel").hidden && (!$("override-box") || $("override-box").hidden);
  return a;
}

// a manager approves the exception: the written reason is required and goes with the contract (recorded by the server)
function applyOverride() {
  const reason = $("override").value.trim();
  $("override-error").hidden = !!reason;
  if (!reason) { $("override").focus(); return; }
  overrideReason = reason;
  overrideFace = !!(currentFace && currentFace.decision === "no_match");  // the manager saw the no_match
  applyAdmission();
  window.scrollTo(0, 0);
}

// confirm: disabled while the request is in flight and once saved (only "Khách mới" opens a new form); the form's one
// Idempotency-Key makes a second click that still reaches the server (a double-click, a retry) return the same contract
async function submitPawn(ev) {
  ev.preventDefault();
  if (saving || contractSaved) return;
  const err = $("pawn-error"); err.hidden = true;
  if (!applyAdmission().open) return;
  const body = {  // the items (items.js) and the rate in the unit typed (money.js)
    scan_id: currentScan, items: collectItems(), valuation_vnd: Number($("valuation").value), loan_vnd: Number($("loan").value),
    ...rateBody(), term_days: Number($("term").value), fees_vnd: Number($("fees").value || 0),
    ownership_evidence: $("ownership").value, notes: $("notes").value, face_refer_confirmed: $("refer-confirm").checked,
  };
  if (overrideReason) body.override_reason = overrideReason;
  saving = true;
  $("confirm").disabled = true;
  $("confirm").textContent = T.saving;
  try {
    const r = await api("POST", "/api/v1/transactions", body, { "Idempotency-Key": contractKey });
    contractSaved = true;
    $("pawn-fields").disabled = true;
    $("contract-no").textContent = r.contract_no;
    $("print-link").href = `/contracts/${r.id}/print`;
    $("pdf-link").href = `/api/v1/transactions/${r.id}/contract.pdf`;
    $("saved").hidden = false;
    $("print-link").focus();
    runSearch(1);
    openMoney(r.id);  // its money panel (money.js), ready for the next visit's actions
  } catch (e) { err.replaceChildren(errorBox(e, T.error)); err.hidden = false; }
  saving = false;
  $("confirm").textContent = T.confirm;
  $("confirm").disabled = contractSaved;
}

// "Khách mới": everything of the last customer goes, the access key included, and the next contract form gets its own
// Idempotency-Key. keepKey: a new read (startScan) keeps the access key just typed or scanned.
function resetCustomer(focus, keepKey) {
  currentScan = null; currentResult = null; currentFace = null; overrideReason = ""; overrideFace = false;
  contractKey = crypto.randomUUID(); contractSaved = false; saving = false;
  $("confirm").disabled = false; $("confirm").textContent = T.confirm;
  if (!keepKey) $("access-key").value = "";
  $("verdict-panel").hidden = true; $("identity").hidden = true;
  for (const id of ["verdict", "verdict-why", "verdict-todo"]) $(id).textContent = "";
  $("holder").replaceChildren(); $("checks").replaceChildren(); $("chip-photo").removeAttribute("src"); $("pawn-panel").hidden = true; $("saved").hidden = true;
  $("pawn-fields").disabled = true; $("block-notice").hidden = true;
  if ($("override-box")) { $("override-box").hidden = true; $("override").value = ""; $("override-error").hidden = true; }
  $("consent").checked = false; $("camera-photo").hidden = true; $("camera-photo").removeAttribute("src"); $("camera-empty").hidden = false;
  $("refer-confirm").checked = false; $("refer-row").hidden = true;
  $("face-decision").textContent = T.face_pending; $("face-decision").className = "badge"; $("face-reasons").textContent = "";
  $("pawn-form").reset();
  resetItems(); resetRate();  // one empty item row, the rate in %/năm (items.js, money.js)
  $("scan-progress").textContent = ""; $("progress-row").hidden = true;
  if (focus) { $("read-card").focus(); health(); }  // health: the trust banner comes back with no card on screen
}

function listen() {
  if (!window.EventSource) return;
  const es = stream = new EventSource("/api/v1/events");
  es.addEventListener("scan", (m) => onScanEvent(JSON.parse(m.data)));
  // after a (re)connect (the browser resends Last-Event-ID), look once at a scan that may have finished meanwhile
  es.addEventListener("open", () => { if (currentScan && !currentResult) loadScan(currentScan); });
  es.addEventListener("card_inserted", () => {
    health();
    // a tap starts the read when the counter is idle (no customer on screen)
    if (!currentScan && $("identity").hidden && !$("read-card").disabled) startScan();
  });
  es.addEventListener("card_removed", () => health());
  es.addEventListener("police_message", (m) => onPoliceMessage(JSON.parse(m.data)));
  // some events were lost (the service restarted, or too many): what the police sent is looked at again
  es.addEventListener("reset", () => onPoliceMessage({ kind: "reset" }));
  // a scan started from the card's QR elsewhere (POST /scans/from-camera): an idle counter follows it by itself
  es.addEventListener("qr", (m) => {
    const d = JSON.parse(m.data);
    if (!currentScan && $("identity").hidden) { currentScan = d.scan_id; setProgress("waiting_for_card"); }
  });
}

// something from the police was recorded (verifier/api/police.py message_event): a notice, or one acknowledged at
// another counter, redraws the banner; a hold or its release on the contract of the money panel redraws the panel
function onPoliceMessage(d) {
  if (["notice", "notice_ack", "reset"].includes(d.kind) && window.chipidNotices) window.chipidNotices.refresh();
  if (d.kind === "reset" && moneyView) openMoney(moneyView.id);
  else if (d.kind === "hold" || d.kind === "hold_release") policeHoldChanged(d);
}

document.addEventListener("DOMContentLoaded", () => {
  // money actions on a found contract are the money panel's (money.js: quoted, confirmed, recorded with the amounts
  // confirmed)
  $("scan-form").addEventListener("submit", startScan);
  if ($("read-qr-camera")) {
    $("read-qr-camera").textContent = say("Read the QR with the camera", "Đọc QR bằng camera");
    $("read-qr-camera").addEventListener("click", (ev) => startScan(ev, true));
  }
  $("consent").addEventListener("change", () => { $("take-photo").disabled = !$("consent").checked || !currentScan; });
  $("take-photo").addEventListener("click", takePhoto);
  $("refer-confirm").addEventListener("change", applyAdmission);
  if ($("override-apply")) $("override-apply").addEventListener("click", applyOverride);
  $("pawn-form").addEventListener("submit", submitPawn);
  $("new-customer").addEventListener("click", () => resetCustomer(true));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "F2") { ev.preventDefault(); startScan(); }
    if (ev.key === "F4") { ev.preventDefault(); takePhoto(); }
  });
  health(); loadMe(); listen(); runSearch(1);
  $("read-card").focus();
});
