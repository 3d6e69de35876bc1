// Police notices (verifier/api/police.py, issue 19 item 2): every page of a logged-in user shows the notices not yet
// acknowledged as a red banner stuck to the top of the window (seen wherever the page is scrolled), until someone clicks
// "Đã đọc" (POST /api/v1/notices/{version}/ack, a ledger event): then it is gone for everyone. Standalone (no
// common.js): loaded by base.html on every page, looked at again every 30 seconds. The counter (counter.js) asks
// again at once on each `police_message` of its event stream (a new notice, or one acknowledged at another counter):
// window.chipidNotices.refresh().
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
  // Vietnam local time (UTC+07:00 all year), labelled: the twin of verifier/local_time.py local_time (common.js has
  // the same for the pages that load it; this file stands alone)
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
      box.style.position = "sticky";  // above everything else stuck to the top (the demo banner)
      box.style.top = "0";
      box.style.zIndex = "20";
      document.body.insertBefore(box, document.body.firstChild);
    }
    return box;
  }
  function render(notices) {
    const c = container();
    const shown = new Set(notices.map((n) => String(n.version)));
    for (const row of [...c.children]) if (!shown.has(row.dataset.version)) row.remove();
    for (const n of notices) {
      if (c.querySelector(`.police-notice[data-version="${n.version}"]`)) continue;  // already on screen
      c.append(row(n));
    }
  }
  function row(n) {
    const r = document.createElement("div");
    r.className = "police-notice";
    r.dataset.version = String(n.version);
    Object.assign(r.style, { background: "#8b0000", color: "#fff", padding: "0.6em 1em", borderBottom: "2px solid #fff",
                             fontSize: "1.1rem" });
    const title = document.createElement("strong");
    title.textContent = S.title + ": ";
    const text = document.createElement("span");
    text.className = "police-notice-text";
    text.textContent = n.text;
    const meta = document.createElement("small");
    meta.className = "police-notice-meta";
    meta.textContent = ` · ${S.from} ${n.issued_by} · ${S.received} ${localTime(n.received_at)} `;
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "police-notice-ack";
    btn.textContent = S.ack;
    btn.style.marginLeft = "0.6em";
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        const a = await fetch(`/api/v1/notices/${n.version}/ack`, {
          method: "POST", credentials: "same-origin", headers: { "x-csrf-token": CSRF, "accept-language": LANG } });
        if (!a.ok) throw new Error("HTTP " + a.status);
        r.remove();
      } catch (e) {
        btn.disabled = false;
        meta.textContent += " " + S.failed;
      }
    });
    r.append(title, text, meta, btn);
    return r;
  }
  async function refresh() {
    if (stopped) return;
    try {
      const r = await fetch("/api/v1/notices", { credentials: "same-origin", headers: { "accept-language": LANG } });
      if (r.status === 401 || r.status === 403) { stopped = true; return; }  // no session, or a role without contracts
      if (r.ok) render((await r.json()).notices || []);
    } catch (e) { /* offline for a moment: next time */ }
  }
  window.chipidNotices = { refresh };
  refresh();
  setInterval(refresh, 30000);
})();
