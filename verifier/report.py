"""Human-readable rendering of a scan result (the ``chipid read --json`` object).

Vietnamese labels with English beside them, for the clerk at the counter. Pure formatting:
the result dict is built by :mod:`verifier.scan`.
"""

from __future__ import annotations

_HOLDER_LABELS = [
    ("id_number", "Số định danh / ID number"),
    ("full_name", "Họ và tên / Full name"),
    ("date_of_birth", "Ngày sinh / Date of birth"),
    ("sex", "Giới tính / Sex"),
    ("nationality", "Quốc tịch / Nationality"),
    ("ethnicity", "Dân tộc / Ethnicity"),
    ("religion", "Tôn giáo / Religion"),
    ("place_of_origin", "Quê quán / Place of origin"),
    ("place_of_residence", "Nơi thường trú / Residence"),
    ("personal_identification", "Đặc điểm nhận dạng / Identifying marks"),
    ("issue_date", "Ngày cấp / Issue date"),
    ("expiry_date", "Có giá trị đến / Expiry date"),
    ("father_name", "Họ tên cha / Father"),
    ("mother_name", "Họ tên mẹ / Mother"),
    ("spouse_name", "Họ tên vợ/chồng / Spouse"),
    ("old_id_number", "Số CMND cũ / Old ID number"),
]

_VERDICT_TEXT = {
    "authentic": "THẬT — dữ liệu chip do Nhà nước ký / AUTHENTIC — chip data signed by the state",
    "not_authentic": "KHÔNG HỢP LỆ — nghi thẻ giả hoặc chip sao chép / NOT AUTHENTIC — suspected forgery or cloned chip",
    "unverified": "CHƯA XÁC MINH ĐƯỢC — đọc được nhưng chưa chứng minh được / UNVERIFIED — read, but not proven",
}

_STATUS_MARK = {"passed": "✔", "failed": "✘", "not_performed": "–"}


def render(result: dict) -> str:
    lines: list[str] = []
    if result.get("demo"):
        lines.append("*** DEMO — thẻ mô phỏng, tin cậy thử nghiệm / emulated card, demo trust: NOT A REAL CARD ***")
    lines.append(f"Đầu đọc / Reader: {result.get('reader', '?')}")
    access = result.get("access") or {}
    if access:
        lines.append(f"Truy cập chip / Chip access: {access.get('protocol', '?')} ({access.get('key', '')})")
    verdict = result.get("verdict", "unverified")
    lines.append("")
    lines.append(f"KẾT LUẬN / VERDICT: {_VERDICT_TEXT.get(verdict, verdict)}")
    lines.append("")
    holder = result.get("holder") or {}
    if holder:
        note = "" if verdict == "authentic" else "  (chưa xác minh / not verified)"
        lines.append("Thông tin trên chip / Data on the chip" + note)
        width = max(len(label) for _, label in _HOLDER_LABELS)
        for key, label in _HOLDER_LABELS:
            value = holder.get(key)
            if value not in (None, ""):
                lines.append(f"  {label.ljust(width)}  {value}")
        lines.append("")
    checks = result.get("checks") or {}
    if checks:
        lines.append("Kiểm tra / Checks")
        for name, check in checks.items():
            mark = _STATUS_MARK.get(check.get("status"), "?")
            reason_vi = check.get("reason_vi") or ""
            reason = check.get("reason") or ""
            text = reason_vi if reason_vi == reason else f"{reason_vi} / {reason}"
            lines.append(f"  {mark} {name}: {text}")
        lines.append("")
    for warning in result.get("warnings") or []:
        lines.append(f"! {warning}")
    files = result.get("files") or {}
    lines.append(
        f"{len(files)} tệp / files, {result.get('apdus', 0)} APDU, {result.get('bytes', 0)} bytes, "
        f"{result.get('elapsed_ms', 0):.0f} ms"
    )
    return "\n".join(lines)
