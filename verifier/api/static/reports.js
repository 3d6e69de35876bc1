// The reports page (period links of the cash book and the register, customer search) and the customer page (notes).
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

periodLinks();
customerSearch();
notes();
