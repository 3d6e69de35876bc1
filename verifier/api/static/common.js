// Shared helpers of the chipid pages: API calls with the session's CSRF token, i18n, search and a contract's details.
// A contract's money actions are the counter's money panel (money.js): quoted, confirmed, then recorded.
"use strict";
const T = JSON.parse(document.getElementById("i18n").textContent);
const CSRF = (document.querySelector('meta[name="csrf"]') || {}).content || "";
const $ = (id) => document.getElementById(id);
const PAGE_LANG = document.documentElement.lang === "en" ? "en" : "vi";

// Errors come in the page's language (verifier/messages.py catalogue, chosen by Accept-Language): error.message is
// the sentence for the clerk, error.details.detail the technical detail behind "chi tiết".
// headers: extra request headers (an Idempotency-Key, README "Idempotency-Key").
async function api(method, url, body, headers) {
  const opts = { method, headers: { "x-csrf-token": CSRF, "accept-language": PAGE_LANG, ...(headers || {}) }, credentials: "same-origin" };
  if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(url, opts);
  const ct = r.headers.get("content-type") || "";
  const data = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error((data && data.error && data.error.message) || ("HTTP " + r.status));
    e.code = data && data.error && data.error.code; e.status = r.status;
    e.details = (data && data.error && data.error.details) || {}; throw e;
  }
  return data;
}

function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) n.append(c instanceof Node ? c : String(c));
  return n;
}

const vnd = (n) => (n === null || n === undefined) ? "—" : Number(n).toLocaleString("vi-VN") + " ₫";
// Vietnam local time, labelled ("01:30 06/12/2026 (giờ Việt Nam)") for a stored UTC time: the browser's twin of
// verifier/local_time.py local_time (Asia/Ho_Chi_Minh is UTC+07:00 all year; a time without an offset is UTC).
function localTime(iso, label = true) {
  if (!iso) return "";
  let text = String(iso).trim().replace(/(\.\d{3})\d+/, "$1");
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += "Z";
  const t = new Date(text);
  if (Number.isNaN(t.getTime())) return String(iso);
  const v = new Date(t.getTime() + 7 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, "0");
  const shown = `${p(v.getUTCHours())}:${p(v.getUTCMinutes())} ${p(v.getUTCDate())}/${p(v.getUTCMonth() + 1)}/${v.getUTCFullYear()}`;
  return label ? `${shown} (${T.time_label})` : shown;
}

// An error for a person: the sentence, and the technical detail (if any) folded behind "chi tiết".
function errorBox(e, prefix) {
  const detail = e && e.details && e.details.detail;
  const box = el("span", { class: "error-text" }, (prefix ? prefix + ": " : "") + ((e && e.message) || ""));
  if (detail) box.append(" ", el("details", { class: "error-detail" }, el("summary", {}, T.details), el("code", {}, detail)));
  return box;
}

// a calendar date (due date, birth date: already local) as dd/mm/yyyy
const vdate = (s) => (s && s.length >= 10) ? `${s.slice(8, 10)}/${s.slice(5, 7)}/${s.slice(0, 4)}` : (s || "—");

async function runSearch(page) {
  const p = new URLSearchParams();
  const add = (k, id) => { const v = $(id).value.trim(); if (v) p.set(k, v); };
  add("id_number", "q-id"); add("name", "q-name"); add("serial", "q-serial"); add("status", "q-status");
  add("from", "q-from"); add("to", "q-to"); p.set("page", page || 1); p.set("page_size", 20);
  const tbody = document.querySelector("#results tbody");
  tbody.replaceChildren();
  try {
    const res = await api("GET", "/api/v1/transactions?" + p.toString());
    $("search-count").textContent = `${res.total} ${T.results}`;
    for (const r of res.items) {
      const status = el("td", {}, T[r.status] || r.status, r.flagged ? el("span", { class: "badge bad" }, T.flagged) : null,
                        r.demo ? el("span", { class: "badge demo" }, T.demo) : null, ...markers(r));
      tbody.append(el("tr", { "data-id": r.id },
        el("td", {}, r.contract_no), el("td", {}, r.pawner_name || ""), el("td", {}, r.pawner_id_number || ""),
        el("td", {}, (r.items || []).join(", ")), el("td", {}, vnd(r.loan_vnd)), el("td", {}, localTime(r.created_at)),
        el("td", {}, vdate(r.due_date)), status,
        el("td", {}, el("button", { type: "button", class: "open", onclick: () => openContract(r.id) }, T.open))));
    }
  } catch (e) { $("search-count").textContent = `${T.error}: ${e.message}`; }
}

// cancelled (hủy), corrected (đính chính), damaged ledger entry (issue 17 items 3, 6): badges in Vietnamese
function markers(r) {
  return [["cancelled", r.status === "cancelled"], ["corrected", r.corrected], ["damaged", r.damaged]]
    .filter(([, on]) => on).map(([k]) => el("span", { class: "badge marker " + k, "data-marker": k }, T[k]));
}

async function openContract(id) {
  const box = $("detail");
  box.hidden = false;
  box.replaceChildren(el("p", {}, "…"));
  let v;
  try { v = await api("GET", "/api/v1/transactions/" + encodeURIComponent(id)); }
  catch (e) { box.replaceChildren(el("p", { class: "error" }, e.message)); return; }
  const p = v.pawner || {};
  const rows = [[T.contract, v.contract_no], [T.name, p.full_name], [T.id_number, p.id_number], [T.status, T[v.status] || v.status],
    [T.loan, vnd(v.loan_vnd)], [T.rate, v.interest_rate_year_pct + " %"], [T.created, vdate(v.start_date)], [T.due, vdate(v.due_date)],
    [T.verdict, T[(v.identity_check || {}).verdict] || ""], [T.face, T[(v.face || {}).decision] || ""],
    [T.item, (v.items || []).map((i) => `${i.description} ${i.serial ? "(" + i.serial + ")" : ""}`).join("; ")]];
  const dl = el("dl", { class: "holder", id: "detail-fields" });
  for (const [k, val] of rows) dl.append(el("dt", {}, k), el("dd", {}, val || "—"));
  const events = el("ul", { class: "checks", id: "detail-events" });
  for (const e of v.events || []) events.append(el("li", {}, `${localTime(e.ts)} · ${e.type} · ${e.by ? e.by.user : ""} ${e.reason || ""}`));
  box.replaceChildren(el("h3", {}, v.contract_no, v.demo ? el("span", { class: "badge demo" }, T.demo) : null,
                         v.flagged ? el("span", { class: "badge bad" }, T.flagged) : null, ...markers(v)), dl, events,
    el("p", {}, el("a", { href: `/contracts/${v.id}/print`, target: "_blank", id: "detail-print" }, T.print), " · ",
      el("a", { href: `/api/v1/transactions/${v.id}/contract.pdf`, target: "_blank" }, T.pdf)));
}

document.addEventListener("DOMContentLoaded", () => {
  const f = $("search-form");
  if (f) f.addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(1); });
});
