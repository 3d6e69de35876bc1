// Police notices at the counter (verifier/api/police.py): every page of a logged-in user shows the notices not yet
// acknowledged as a banner at the top, until someone clicks "Đã đọc" (POST /api/v1/notices/{version}/ack, a ledger
// event). Standalone (no common.js): loaded by base.html on every page. Checked again every 30 seconds.
"use strict";
(function () {
  const LANG = document.documentElement.lang === "en" ? "en" : "vi";
  const CSRF = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const S = {
    vi: { title: "THÔNG BÁO CỦA CÔNG AN", from: "gửi bởi", received: "nhận lúc", ack: "Đã đọc", tz: "giờ Việt Nam",
          failed: "Không ghi nhận được: thử lại." },
    en: { title: "POLICE NOTICE", from: "from", received: "received", ack: "Acknowledge", tz: "Vietnam time",
          failed: "Could not record it: try again." },
  }[LANG];
  // Vietnam local time (UTC+07:00 all year), labelled: the twin of verifier/local_time.py local_time
  function localTime(iso) {
    let text = String(iso || "").trim().replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += "Z";
    const t = new Date(text);
    if (Number.isNaN(t.getTime())) return String(iso || "");
    const v = new Date(t.getTime() + 7 * 3600 * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${p(v.getUTCHours())}:${p(v.getUTCMinutes())} ${p(v.getUTCDate())}/${p(v.getUTCMonth() + 1)}/${v.getUTCFullYear()} (${S.tz})`;
  }
  let box = null;
  let stopped = false;
  function container() {
    if (!box) {
      box = document.createElement("div");
      box.id = "police-notices";
      box.setAttribute("role", "alert");
      document.body.insertBefore(box, document.body.firstChild);
    }
    return box;
  }
  function render(notices) {
    const c = container();
    c.replaceChildren();
    for (const n of notices) {
      const row = document.createElement("div");
      row.className = "police-notice";
      row.dataset.version = String(n.version);
      row.style.background = "#8b0000";
      row.style.color = "#fff";
      row.style.padding = "0.6em 1em";
      row.style.borderBottom = "2px solid #fff";
      const title = document.createElement("strong");
      title.textContent = S.title + ": ";
      const text = document.createElement("span");
      text.className = "police-notice-text";
      text.textContent = n.text;
      const meta = document.createElement("small");
      meta.textContent = ` (${S.from} ${n.issued_by}, ${S.received} ${localTime(n.received_at)}) `;
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "police-notice-ack";
      btn.textContent = S.ack;
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          const r = await fetch(`/api/v1/notices/${n.version}/ack`, {
            method: "POST", credentials: "same-origin", headers: { "x-csrf-token": CSRF, "accept-language": LANG } });
          if (!r.ok) throw new Error("HTTP " + r.status);
          row.remove();
        } catch (e) {
          btn.disabled = false;
          meta.textContent += " " + S.failed;
        }
      });
      row.append(title, text, meta, btn);
      c.append(row);
    }
  }
  async function poll() {
    if (stopped) return;
    try {
      const r = await fetch("/api/v1/notices", { credentials: "same-origin", headers: { "accept-language": LANG } });
      if (r.status === 401 || r.status === 403) { stopped = true; return; }  // no session, or a role without contracts
      if (r.ok) render((await r.json()).notices || []);
    } catch (e) { /* offline for a moment: next time */ }
  }
  poll();
  setInterval(poll, 30000);
})();
