"""The shop's settings: ``GET/PUT /api/v1/shop`` and the page ``/settings`` (first start, Vietnamese).

The shop profile (name, address, GCN ANTT licence, representative, phone, province, printer layout) is
printed on every contract and receipt; it is a ledger entry (:mod:`verifier.ledger.shop_profile`), so
each change is kept and reaches the police with the ledger. Anyone logged in may read it (it holds no
pawner's data); a manager or an admin (permission ``shop.manage``) changes it. While the name is
still the "(chưa cấu hình)" default, the counter page shows a banner linking here
(``templates/base.html``, :func:`setup_needed`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from verifier import messages
from verifier.api import web
from verifier.api.auth import current_user, need
from verifier.api.errors import ERROR_RESPONSES
from verifier.errors import InputError
from verifier.ledger import shop_profile
from verifier.users import User

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)

#: the page's fields: (name, Vietnamese label, hint)
FIELDS = (
    ("name", "Tên cửa hàng", "như trên giấy chứng nhận đủ điều kiện về an ninh, trật tự"),
    ("address", "Địa chỉ", ""),
    ("license", "Số giấy chứng nhận đủ điều kiện về ANTT", ""),
    ("representative", "Người đại diện ký hợp đồng", "họ tên chủ cửa hàng hoặc người được ủy quyền"),
    ("phone", "Điện thoại", ""),
    ("province", "Tỉnh / thành phố (in ở dòng địa danh, ngày tháng)", "ví dụ: TP. Hồ Chí Minh"),
)


class ShopProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., max_length=200, description="Shop name printed on contracts and receipts (required).")
    address: str = Field("", max_length=300)
    license: str = Field("", max_length=100, description="Number of the certificate of security-and-order eligibility (GCN ANTT).")
    representative: str = Field("", max_length=120, description="Who signs contracts for the shop.")
    phone: str = Field("", max_length=20)
    province: str = Field("", max_length=100, description="Printed in the place-and-date line (e.g. TP. Hồ Chí Minh).")
    printer_layout: str = Field("a5", pattern="^(a5|80mm)$", description="Receipt layout: a5 or 80mm (thermal roll).")


def setup_needed(request: Request) -> bool:
    """True while the shop profile still has the "(chưa cấu hình)" default name (the counter's banner)."""
    svc = request.app.state.svc
    return not shop_profile.current(svc.ledger, svc.cfg)["configured"]


@router.get("/shop", tags=["service"], summary="The shop profile printed on contracts and receipts")
def get_shop(request: Request, user: User = Depends(current_user)) -> dict:
    svc = request.app.state.svc
    return shop_profile.current(svc.ledger, svc.cfg)


@router.put("/shop", tags=["service"], summary="Record a new shop profile (manager, admin): a ledger entry, synced to the police")
def put_shop(request: Request, body: ShopProfileIn, user: User = Depends(need("shop.manage"))) -> dict:
    svc = request.app.state.svc
    shop_profile.record(svc.ledger, body.model_dump(), user=user.name, role=user.role, demo=svc.demo)
    return shop_profile.current(svc.ledger, svc.cfg)


def install(app) -> None:
    from verifier.api.people import csrf_ok, forbidden_page, gate

    shop_profile.attach(app.state.svc.ledger)  # the projection is registered before any profile is recorded
    app.include_router(router)
    web.templates.env.globals["shop_setup_needed"] = setup_needed

    def page(request: Request, session, *, error: str | None = None, saved: bool = False, form: dict | None = None):
        svc = request.app.state.svc
        profile = shop_profile.current(svc.ledger, svc.cfg)
        return web.render(request, "settings.html", session, profile=profile, form=form or profile, fields=FIELDS,
                          layouts=shop_profile.LAYOUTS, error=error, saved=saved,
                          may_change=session.user.can("shop.manage"))

    @app.get("/settings", include_in_schema=False)
    def settings(request: Request, saved: int = 0):
        session, refusal = gate(request, None)
        if refusal:
            return refusal
        return page(request, session, saved=bool(saved))

    @app.post("/settings", include_in_schema=False)
    def settings_submit(request: Request, csrf: str = Form(""), name: str = Form(""), address: str = Form(""),
                        license: str = Form(""), representative: str = Form(""), phone: str = Form(""),
                        province: str = Form(""), printer_layout: str = Form("a5")):
        session, refusal = gate(request, "shop.manage")
        if refusal:
            return refusal
        if not csrf_ok(session, csrf):
            return forbidden_page(request, session)
        svc = request.app.state.svc
        form = {"name": name, "address": address, "license": license, "representative": representative, "phone": phone,
                "province": province, "printer_layout": printer_layout}
        try:
            shop_profile.record(svc.ledger, form, user=session.user.name, role=session.user.role, demo=svc.demo)
        except InputError as e:  # nothing recorded; the form keeps what was typed
            resp = page(request, session, error=messages.text(messages.error_code(e), web.page_language(request),
                                                          getattr(e, "details", None)),
                        form=form)
            resp.status_code = 422
            return resp
        return RedirectResponse("/settings?saved=1", status_code=303)
