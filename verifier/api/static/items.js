// The items of the pawn contract (issue 18): rows the clerk adds and removes, each category showing its own fields
// (phone: IMEI and serial; motorbike: plate, frame and engine numbers; jewelry: material and weight; all: brand, model,
// condition, storage location), an optional photo per item from the counter camera or a file
// (POST /api/v1/scans/{id}/item-photo; the item then carries its photo_sha256). The server's rules are
// verifier/ledger/pawn_items.py; the page checks the IMEI's Luhn digit and the plate's form as they are typed.
// Row 1 keeps the ids item-description, item-category, item-serial... (row n: item-n-description...).
"use strict";

// 3GPP TS 23.003 annex B: the last of an IMEI's 15 digits is the Luhn check digit of the first 14
function imeiOk(text) {
  const d = text.replace(/[\s.\-/]/g, "");
  if (!/^\d{15}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    let v = Number(d[14 - i]);
    if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 === 0;
}

// a Vietnamese plate as typed (pawn_items._PLATE): 59-X1 123.45, 51F-123.45, 29A-1234
const PLATE_RE = /^(\d{2}) ?-? ?([A-ZĐ]{1,2}\d?) ?[- ]? ?(\d{3}\.?\d{2}|\d{4})$/;
const plateOk = (text) => PLATE_RE.test(text.trim().replace(/\s+/g, " ").toUpperCase());

function itemRows() { return Array.from(document.querySelectorAll("#items .item-row")); }

// ids and titles follow the order on screen (a removed row renumbers the rest)
function numberItems() {
  const rows = itemRows();
  rows.forEach((row, i) => {
    const n = i + 1;
    row.dataset.n = String(n);
    row.querySelector(".item-title").textContent = T.item_no.replace("{n}", n);
    for (const input of row.querySelectorAll("[data-field]")) input.id = n === 1 ? `item-${input.dataset.field}` : `item-${n}-${input.dataset.field}`;
    row.querySelector(".take-item-photo").id = n === 1 ? "item-photo-take" : `item-${n}-photo-take`;
    row.querySelector(".upload-item-photo input").id = n === 1 ? "item-photo-file" : `item-${n}-photo-file`;
    row.querySelector(".item-thumb").alt = T.item_photo_of.replace("{n}", n);
    row.querySelector(".remove-item").hidden = rows.length === 1;
  });
}

// the fields of the row's category shown, the others hidden (and not sent)
function showCategoryFields(row) {
  const cat = row.querySelector('[data-field="category"]').value;
  for (const label of row.querySelectorAll("label[data-for]")) label.hidden = !label.dataset.for.split(" ").includes(cat);
}

function checkField(input) {
  const v = input.value.trim();
  let msg = "";
  if (v && input.dataset.field === "imei" && !imeiOk(v)) msg = T.imei_bad;
  if (v && input.dataset.field === "plate" && !plateOk(v)) msg = T.plate_bad;
  input.setCustomValidity(msg);
  input.classList.toggle("invalid", !!msg);
}

function addItem(focus) {
  const row = $("item-template").content.firstElementChild.cloneNode(true);
  $("items").append(row);
  row.querySelector('[data-field="category"]').addEventListener("change", () => showCategoryFields(row));
  for (const input of row.querySelectorAll("input[data-field]")) input.addEventListener("input", () => checkField(input));
  row.querySelector(".remove-item").addEventListener("click", () => removeItem(row));
  row.querySelector(".take-item-photo").addEventListener("click", () => itemPhoto(row, { camera: true }));
  row.querySelector(".upload-item-photo input").addEventListener("change", (ev) => uploadItemPhoto(row, ev.target));
  showCategoryFields(row);
  numberItems();
  if (focus) row.querySelector('[data-field="description"]').focus();
  return row;
}

function removeItem(row) {
  if (itemRows().length === 1) return;
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  numberItems();
  if (next) next.querySelector('[data-field="description"]').focus();
}

// POST /api/v1/scans/{id}/item-photo with {camera: true} or {image_base64}: the photo is held with the scan until the
// contract is recorded; the row keeps its hash and shows the preview
async function itemPhoto(row, body) {
  const note = row.querySelector(".item-photo-note");
  if (!currentScan) return;
  note.textContent = "…";
  note.className = "item-photo-note small";
  try {
    const r = await api("POST", `/api/v1/scans/${currentScan}/item-photo`, body);
    row.dataset.photo = r.photo_sha256;
    const img = row.querySelector(".item-thumb");
    img.src = r.preview_url;
    img.hidden = false;
    note.textContent = "";
  } catch (e) {
    note.replaceChildren(errorBox(e, T.error));
    note.className = "item-photo-note error";
  }
}

function uploadItemPhoto(row, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const text = String(reader.result);
    itemPhoto(row, { image_base64: text.slice(text.indexOf(",") + 1) });
    input.value = "";
  };
  reader.readAsDataURL(file);
}

// the items of the form for POST /api/v1/transactions: only the fields the category shows, empty ones left out
function collectItems() {
  return itemRows().map((row) => {
    const item = {};
    for (const input of row.querySelectorAll("[data-field]")) {
      const label = input.closest("label");
      const v = input.value.trim();
      if (v && !(label && label.hidden)) item[input.dataset.field] = v;
    }
    if (row.dataset.photo) item.photo_sha256 = row.dataset.photo;
    return item;
  });
}

// a new customer: one empty row again
function resetItems() {
  $("items").replaceChildren();
  addItem(false);
}

document.addEventListener("DOMContentLoaded", () => {
  if (!$("items")) return;
  resetItems();
  $("add-item").addEventListener("click", () => addItem(true));
});
