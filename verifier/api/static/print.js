// The print pages (contract, receipts): the print button, and the receipt's layout switch (A5 / 80 mm).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const b = document.getElementById("print-now");
  if (b) b.addEventListener("click", () => window.print());
  const layout = document.getElementById("receipt-layout");
  if (layout) layout.addEventListener("change", () => {
    const u = new URL(window.location.href);
    u.searchParams.set("layout", layout.value);
    window.location.assign(u.toString());
  });
});
