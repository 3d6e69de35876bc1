"""Request and response bodies of the REST API (OpenAPI at /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScanRequest(BaseModel):
    """Optional access key for the chip: the QR text of the card, ID number + dates, or the CAN."""

    model_config = ConfigDict(extra="forbid")
    qr: str | None = Field(None, max_length=2000, description="Text of the QR code printed on the card.")
    mrz: str | None = Field(None, max_length=200, description="The MRZ printed on the back of the card (3 lines of 30).")
    id_number: str | None = Field(None, max_length=20, description="12-digit ID number (with birth_date and expiry_date).")
    birth_date: str | None = Field(None, max_length=10, description="YYYY-MM-DD or YYMMDD.")
    expiry_date: str | None = Field(None, max_length=10, description="YYYY-MM-DD or YYMMDD.")
    can: str | None = Field(None, pattern=r"^[0-9]{6}$", description="Card access number (6 digits).")

    def access(self) -> dict | None:
        data = {k: v for k, v in self.model_dump().items() if v not in (None, "")}
        return data or None


class ScanCreated(BaseModel):
    id: str


class ScanView(BaseModel):
    id: str
    status: Literal["waiting_for_card", "reading", "verifying", "done", "failed"]
    step: Literal["waiting_for_card", "reading", "card_lifted", "card_back", "verifying", "done", "failed"] = Field(
        ..., description="The scan's step (`verifier.results.ScanStep`): `card_lifted` and `card_back` are steps of reading.")
    label: str = Field(..., description="The step in English.")
    label_vi: str = Field(..., description="The step in Vietnamese.")
    created_by: str
    result: dict | None = Field(None, description="Same shape as `chipid read --json`.")
    error: dict | None = None
    face: dict | None = Field(None, description="The face decision (`POST /scans/{id}/face`), once made.")
    face_attempts: list[dict] = Field(default_factory=list, description="Every face attempt in order, refused copies "
                                      "of the chip portrait too (`decision`: `portrait_copy`), with `source` and `probe_by`.")


class FaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: bool = Field(..., description="The customer agreed to the face comparison (must be true).")
    camera: bool = Field(False, description="Capture a picture now from the counter camera (demo: the holder's photo).")
    image_base64: str | None = Field(None, max_length=15_000_000, description="A picture of the customer, base64 (JPEG/PNG).")

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.camera) == bool(self.image_base64):
            raise ValueError("give exactly one of camera=true or image_base64")
        return self


class Item(BaseModel):
    """One pawned item; which fields each category has and their formats: ``verifier/ledger/pawn_items.py``."""

    model_config = ConfigDict(extra="forbid")
    description: str = Field(..., min_length=1, max_length=500)
    category: str = Field(..., min_length=1, max_length=100, description="phone, motorbike, laptop, jewelry, watch or other.")
    serial: str = Field("", max_length=100)
    brand: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    condition: str | None = Field(None, max_length=300)
    imei: str | None = Field(None, max_length=40, description="phone: 15 digits, the last the Luhn check digit.")
    frame_no: str | None = Field(None, max_length=40, description="motorbike: frame number (số khung).")
    engine_no: str | None = Field(None, max_length=40, description="motorbike: engine number (số máy).")
    plate: str | None = Field(None, max_length=40, description="motorbike: plate (biển số) as typed, e.g. 59-X1 123.45.")
    material: str | None = Field(None, max_length=100, description="jewelry: material (vàng 18K, bạc...).")
    weight: str | None = Field(None, max_length=100, description="jewelry: weight as text (2 chỉ, 3,75 g...).")
    storage_location: str | None = Field(None, max_length=200, description="Where the shop keeps it (vị trí lưu kho).")
    photo_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description=(
        "Its photo: the photo_sha256 of POST /scans/{scan_id}/item-photo on the same scan."))


class ItemPhotoRequest(BaseModel):
    """An item's photo (``POST /scans/{scan_id}/item-photo``): from the counter camera, or an uploaded JPEG/PNG."""

    model_config = ConfigDict(extra="forbid")
    camera: bool = Field(False, description="Take a frame now from the counter camera (camera.source).")
    image_base64: str | None = Field(None, max_length=15_000_000, description="A picture of the item, base64 (JPEG/PNG).")

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.camera) == bool(self.image_base64):
            raise ValueError("give exactly one of camera=true or image_base64")
        return self


class RateInput(BaseModel):
    """A rate as typed: a decimal (``1,5`` or ``1.5``, no thousands separator) in one unit (README "Money")."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(..., max_length=20, pattern=r"^\s*[0-9]{1,9}([.,][0-9]{1,9})?\s*$")
    unit: Literal["year_pct", "month_pct", "vnd_per_million_day"]


class TransactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scan_id: str = Field(..., min_length=1, max_length=64)
    items: list[Item] = Field(..., min_length=1, max_length=50)
    valuation_vnd: int = Field(..., gt=0, le=10**13)
    loan_vnd: int = Field(..., gt=0, le=10**13)
    interest_rate_year_pct: float | None = Field(None, ge=0, le=1000, description=(
        "The yearly rate in %; optional when rate_input is sent (then both must agree)."))
    rate_input: RateInput | None = Field(None, description="The rate as the clerk typed it: %/year, %/month or đồng "
                                           "per million per day (README \"Money\"); converted exactly, capped with the fees.")
    term_days: int = Field(..., ge=1, le=3650)
    fees_vnd: int = Field(0, ge=0, le=10**12)
    ownership_evidence: str = Field("", max_length=1000, description="Evidence that the pawner owns the items (invoice, registration...).")
    notes: str = Field("", max_length=2000)
    pawner_phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 .-]{8,20}$", description="The pawner's phone (printed on the contract).")
    current_address: str | None = Field(None, max_length=300, description="Where the pawner lives now, when not the permanent residence on the card.")
    old_id_number: str | None = Field(None, pattern=r"^([0-9]{9}|[0-9]{12})$", description="The old CMND number typed by the clerk when the chip (DG13) has none.")
    face_refer_confirmed: bool = Field(False, description="The clerk compared the photos and confirms a 'refer' face decision.")
    override_reason: str | None = Field(None, min_length=5, max_length=2000, description="Manager only: written reason to accept a card that is not 'authentic'.")


class TransactionCreated(BaseModel):
    id: str
    contract_no: str
    seq: int
    demo: bool


class Expected(BaseModel):
    """The cash the clerk saw on the screen and confirmed (from ``GET /transactions/{id}/quote``)."""

    model_config = ConfigDict(extra="forbid")
    cash_in_vnd: int = Field(0, ge=0, le=10**14, description="Cash the pawner pays the shop.")
    cash_out_vnd: int = Field(0, ge=0, le=10**14, description="Cash the shop pays the pawner.")


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["redeemed", "extended", "partial_payment", "forfeited", "liquidated", "correction", "suspicious",
                  "interest_paid", "principal_added"]
    expected: Expected | None = Field(None, description=(
        "Money events: the cash confirmed by the clerk; if the server's amounts differ: 409 amount_changed with the "
        "fresh quote, nothing recorded. Needed by every event that moves cash."))
    amount_vnd: int | None = Field(None, ge=0, le=10**13, description="partial_payment: principal repaid; principal_added: principal lent.")
    sale_vnd: int | None = Field(None, ge=1, le=10**13, description="liquidated: the sale price.")
    fees_vnd: int | None = Field(None, ge=0, le=10**12, description="interest_paid, extended, redeemed: fees received.")
    interest_to: str | None = Field(None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description=(
        "interest_paid: pay the interest up to this day (default today; at most the due date)."))
    pay_interest: bool | None = Field(None, description="extended: pay the interest due today with it (default true).")
    extend_days: int | None = Field(None, ge=1, le=3650)
    interest_rate_year_pct: float | None = Field(None, ge=0, le=1000)
    rate_input: RateInput | None = Field(None, description="extended: the new rate as typed.")
    reason: str | None = Field(None, max_length=2000)
    notes: str | None = Field(None, max_length=2000)
    fields: dict[str, Any] | None = Field(None, description="correction: new values of items, notes, valuation_vnd, fees_vnd, ownership_evidence.")
    target: Literal["pawner", "item", "both"] | None = None
    cancel: bool | None = Field(None, description="correction: cancel (hủy) a mistaken contract instead of changing fields.")


class EventCreated(BaseModel):
    seq: int
    type: str
    txn_id: str
    ts: str
    money: dict[str, Any] | None = Field(None, description="A money event: the amounts recorded (README \"Money\").")


class TransactionSummary(BaseModel):
    id: str
    contract_no: str
    created_at: str
    status: str
    flagged: bool
    demo: bool
    due_date: str
    pawner_name: str | None
    pawner_id_number: str | None
    items: list[str]
    loan_vnd: int
    corrected: bool = Field(False, description="A manager's correction (đính chính) or cancellation (hủy) was recorded.")
    damaged: bool = Field(False, description="Its ledger entry is damaged or was rewritten (dữ liệu bị hỏng / bị sửa).")


class TransactionPage(BaseModel):
    items: list[TransactionSummary]
    total: int
    page: int
    page_size: int


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=200)


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    role: Literal["clerk", "manager", "inspector", "integrator", "admin"]
