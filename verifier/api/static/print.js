"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const b = document.getElementById("print-now");
  if (b) b.addEventListener("click", () => window.print());
});
