"""The one catalogue of error codes, each with its Vietnamese and English text.

Every error a clerk, a manager, an inspector or an integrator can meet has a stable ``code`` (the
``error.code`` of the API's one error shape ``{"error": {"code", "message", "details"}}``, README
"Errors") and one sentence in each language here. The API picks the language per request
(:func:`choose_language`: ``Accept-Language``, else the user's page setting, else
``service.language``), the pages use the page's language, the CLI prints both.

A text may name values of the error's ``details`` as ``{name}`` (``str.format`` fields; both
languages use the same fields). A code may have variants ``code.rule`` chosen by
``details["rule"]`` (``weak_password.too_short``); the API still answers with the plain code.

What a raise site wrote in English (the technical detail: the protocol step, the status word,
the value found) is not thrown away: the API puts it in ``details.detail`` and the service log,
and the counter shows it only behind "chi tiết" (issue 17 item 4).

Pure standard library, in the bottom layer: the counter API, its pages, the ledger, the user
store and the police backend all import it.
"""

from __future__ import annotations

import logging
import re
import string
from typing import Any, Mapping

from verifier import errors as E

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

#: code -> (Vietnamese, English). Keep each text one plain sentence a clerk can act on.
CATALOGUE: dict[str, tuple[str, str]] = {
    # --- requests, sessions, roles -------------------------------------------------------
    "bad_request": ("Yêu cầu không hợp lệ.", "Bad request."),
    "invalid_request": ("Dữ liệu gửi lên không đúng mẫu: kiểm tra lại các ô đã nhập.",
                        "The request does not match the API schema: check the fields sent."),
    "invalid_input": ("Dữ liệu nhập vào không dùng được: kiểm tra lại.", "The input cannot be used: check it."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "method_not_allowed": ("Thao tác này không được hỗ trợ ở địa chỉ này.", "This method is not allowed here."),
    "not_acceptable": ("Không trả được dữ liệu ở định dạng yêu cầu.", "The requested format cannot be served."),
    "conflict": ("Yêu cầu mâu thuẫn với trạng thái hiện tại.", "The request conflicts with the current state."),
    "too_large": ("Dữ liệu gửi lên quá lớn.", "The request is too large."),
    "unsupported_media_type": ("Định dạng dữ liệu gửi lên không được hỗ trợ.", "Unsupported media type."),
    "too_many_requests": ("Quá nhiều yêu cầu: chờ một lát rồi thử lại.", "Too many requests: wait a moment and retry."),
    "http_error": ("Yêu cầu không thực hiện được.", "The request failed."),
    "unauthenticated": ("Chưa đăng nhập hoặc phiên đã hết hạn: hãy đăng nhập lại.",
                        "Not logged in, or the session expired: log in again (or send a bearer token)."),
    "csrf": ("Trang đã cũ: tải lại trang rồi thử lại.", "The page is out of date: reload it and retry."),
    "forbidden": ("Vai trò của bạn không được phép làm thao tác này.", "Your role may not do this."),
    "password_change_required": ("Đang dùng mật khẩu dùng một lần: hãy đổi mật khẩu trước (trang /password).",
                                 "You logged in with a one-time password: change it first (page /password)."),
    "bad_credentials": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "too_many_failed_logins": ("Nhập sai mật khẩu quá nhiều lần: thử lại sau 15 phút.",
                               "Too many wrong passwords: try again in 15 minutes."),
    # --- people --------------------------------------------------------------------------
    "user_exists": ("Tên đăng nhập này đã có.", "This user name already exists."),
    "user_not_found": ("Không có người dùng “{name}”.", "No user “{name}”."),
    "integrator_has_no_password": ("“{name}” là tài khoản tích hợp: dùng mã truy cập (token), không có mật khẩu.",
                                   "“{name}” is an integrator: it has a token, no password."),
    "last_admin": ("“{name}” là quản trị viên cuối cùng còn hoạt động: hãy thêm hoặc mở lại một quản trị viên khác trước.",
                   "“{name}” is the last enabled admin: enable or add another admin first."),
    "bad_credentials.old_password": ("Mật khẩu cũ không đúng.", "The old password is wrong."),
    "weak_password": ("Mật khẩu mới không dùng được.", "The new password cannot be used."),
    "weak_password.too_short": ("Mật khẩu mới cần ít nhất {min} ký tự.", "The new password needs at least {min} characters."),
    "weak_password.too_long": ("Mật khẩu mới dài tối đa {max} ký tự.", "The new password may have at most {max} characters."),
    "weak_password.same_as_old": ("Mật khẩu mới phải khác mật khẩu cũ.", "The new password must differ from the old one."),
    "weak_password.contains_name": ("Mật khẩu mới không được chứa tên đăng nhập.",
                                    "The new password must not contain the user name."),
    "weak_password.too_simple": ("Mật khẩu mới quá đơn giản (quá ít ký tự khác nhau).",
                                 "The new password is too simple (too few different characters)."),
    # --- reader and scan -----------------------------------------------------------------
    "reader_busy": ("Đầu đọc đang đọc một thẻ khác: chờ xong rồi thử lại.",
                    "The reader is busy with another card: wait and retry."),
    "scan_not_found": ("Không còn lượt đọc thẻ này (đã quá thời gian lưu): đọc lại thẻ.",
                       "This scan is unknown or was forgotten after its time limit: read the card again."),
    "scan_not_finished": ("Chưa đọc xong thẻ: chờ kết quả đọc thẻ rồi làm tiếp.",
                          "The card has not been read to the end: wait for the result."),
    "access_key_wrong": ("Sai mã truy cập (CAN) hoặc dữ liệu QR: kiểm tra 6 số cuối của số định danh.",
                         "Wrong access key (CAN) or QR text: check the last 6 digits of the ID number."),
    "access_key_invalid": ("Mã truy cập không đúng dạng: nhập 6 số CAN in trên thẻ hoặc quét mã QR trên thẻ.",
                           "The access key is not valid: type the card's 6-digit CAN or scan the QR code on the card."),
    "no_reader": ("Không thấy đầu đọc thẻ: kiểm tra dây cắm đầu đọc.", "No card reader found: check the reader's cable."),
    "no_card": ("Chưa có thẻ trên đầu đọc: đặt thẻ lên đầu đọc rồi đọc lại.",
                "No card on the reader: place the card on the reader and read again."),
    "card_removed": ("Thẻ bị nhấc ra khi đang đọc: giữ yên thẻ trên đầu đọc rồi đọc lại.",
                     "The card left the reader during the read: keep it still and read again."),
    "reader_error": ("Lỗi kết nối với đầu đọc: đọc lại thẻ; nếu vẫn lỗi, rút và cắm lại đầu đọc.",
                     "The reader connection failed: read again; if it keeps failing, re-plug the reader."),
    "chip_error": ("Chip trả lời không đúng chuẩn: đọc lại thẻ; nếu vẫn lỗi, thẻ có thể bị hỏng hoặc giả.",
                   "The chip did not answer as the standard requires: read again; if it persists the card may be damaged or fake."),
    "chip_data_unreadable": ("Dữ liệu trong chip không đọc được: đọc lại thẻ; nếu vẫn lỗi, gọi quản lý.",
                             "The chip's data cannot be read: read again; if it persists, call the manager."),
    "verification_failed": ("Không kiểm tra được chữ ký của thẻ: gọi quản lý.",
                            "The card's signatures could not be checked: call the manager."),
    "trust_error": ("Không nạp được chứng thư gốc (CSCA): kiểm tra cài đặt chứng thư.",
                    "The trust anchors (CSCA) cannot be loaded: check the trust store."),
    # --- face ----------------------------------------------------------------------------
    "no_portrait": ("Thẻ này không có ảnh trong chip để so sánh.", "This card has no chip photo to compare with."),
    "no_camera_image": ("Chưa chụp ảnh khách hàng cho lượt đọc thẻ này.", "No camera picture has been taken for this scan."),
    "consent_required": ("Cần khách hàng đồng ý trước khi so sánh khuôn mặt.",
                         "The customer's consent is needed before the face comparison."),
    "bad_image": ("Ảnh không dùng được (hỏng, rỗng hoặc quá lớn): chụp lại.",
                  "The image cannot be used (corrupt, empty or too large): take it again."),
    "camera_error": ("Không dùng được camera: kiểm tra camera rồi chụp lại.",
                     "The camera cannot be used: check it and take the photo again."),
    "device_unavailable": ("Thiết bị (đầu đọc hoặc camera) không sẵn sàng: kiểm tra rồi thử lại.",
                           "A device (reader or camera) is unavailable: check it and retry."),
    # --- contracts (verifier.ledger.admission, pawn_events, pawn_search) ------------------
    "scan_not_authentic": ("Thẻ không được xác thực là thẻ thật: không nhận cầm, gọi quản lý (chỉ quản lý được chấp thuận ngoại lệ, ghi rõ lý do).",
                           "The card is not verified as authentic: do not accept the pawn, call the manager (only a manager may override, with a written reason)."),
    "override_needs_manager": ("Chỉ quản lý mới được chấp thuận ngoại lệ.", "Only a manager may override."),
    "qr_not_found": ("Camera không thấy mã QR: đưa mặt trước của thẻ (có mã QR) vào trước camera rồi thử lại.",
                     "No QR code in the camera picture: hold the front of the card (with the QR code) to the camera and try again."),
    "qr_not_cccd": ("Mã QR trước camera không phải mã QR của thẻ căn cước.", "The QR code in view is not the QR code of a CCCD card."),
    "face_probe_is_chip_portrait": ("Ảnh khách hàng chính là ảnh trong chip (hoặc bản sao của nó): hãy chụp khách hàng bằng camera.",
                                    "The picture of the customer is the chip's own photo (or a copy of it): take a picture of the customer with the camera."),
    "face_not_confirmed": ("Khuôn mặt chưa được xác nhận khớp với ảnh trong chip: chụp lại ảnh; nếu vẫn không khớp, chỉ quản lý được chấp thuận ngoại lệ (ghi rõ lý do).",
                           "The face is not confirmed to match the chip photo: take the photo again; if it still does not match, only a manager may accept it, with a written reason."),
    "scan_incomplete": ("Thẻ đọc được thiếu số định danh hoặc họ tên: đọc lại thẻ.",
                        "The card read has no ID number or name: read the card again."),
    "interest_rate_above_cap": ("Lãi suất {interest_rate_year_pct}%/năm vượt mức tối đa {max_interest_rate_year_pct}%/năm (Điều 468 Bộ luật Dân sự).",
                                "The interest rate {interest_rate_year_pct} %/year exceeds the legal cap of {max_interest_rate_year_pct} %/year (Civil Code art. 468)."),
    "loan_above_valuation": ("Số tiền cầm không được lớn hơn giá trị định giá tài sản.",
                             "The loan may not exceed the item's valuation."),
    "unknown_event": ("Loại thao tác không hợp lệ.", "Unknown event type."),
    "amount_required": ("Trả một phần cần số tiền lớn hơn 0.", "A partial payment needs an amount above 0."),
    "reason_required": ("Cần ghi lý do cho thao tác này.", "This action needs a written reason."),
    "extend_days_required": ("Gia hạn cần số ngày từ 1 đến 3650.", "An extension needs between 1 and 3650 days."),
    "amount_required.principal_added": ("Vay thêm gốc cần số tiền lớn hơn 0.", "Adding principal needs an amount above 0."),
    "amount_required.liquidated": ("Thanh lý cần giá bán lớn hơn 0.", "A liquidation needs a sale price above 0."),
    "interest_rate_above_cap.with_fees": ("Lãi suất thực tế tính cả phí {interest_rate_year_pct}%/năm vượt mức tối đa {max_interest_rate_year_pct}%/năm (Điều 468 Bộ luật Dân sự).",
                                          "The effective rate with fees, {interest_rate_year_pct} %/year, exceeds the legal cap of {max_interest_rate_year_pct} %/year (Civil Code art. 468)."),
    "bad_rate_input": ("Lãi suất nhập không hợp lệ: nhập một số (ví dụ 1,5) theo %/năm, %/tháng hoặc đồng/triệu/ngày.",
                       "The rate is not valid: type a number (such as 1.5) in %/year, %/month or VND per million per day."),
    "amount_changed": ("Số tiền đã thay đổi so với lúc xác nhận: xem lại số tiền mới rồi xác nhận lại.",
                       "The amounts changed since they were confirmed: check the new amounts and confirm again."),
    "amount_above_principal": ("Số tiền trả bớt phải nhỏ hơn tiền gốc còn nợ; trả hết thì chọn Chuộc đồ.",
                               "A partial payment must be less than the principal owed; to pay it all, redeem."),
    "nothing_due": ("Không có tiền lãi nào phải đóng đến ngày này.", "No interest is due up to that day."),
    "bad_interest_to": ("Chỉ đóng lãi trước được đến ngày đáo hạn của hợp đồng.",
                        "Interest can be paid in advance up to the contract's due date at most."),
    "bad_correction": ("Nội dung đính chính không hợp lệ.", "The correction is not valid."),
    "bad_transition": ("Hợp đồng đang ở tình trạng khác nên không làm được thao tác này (ví dụ: hợp đồng đã chuộc thì không chuộc lại được).",
                       "The contract's status does not allow this action (for example, a redeemed contract cannot be redeemed again)."),
    "transaction_not_found": ("Không tìm thấy hợp đồng.", "No such contract."),
    "photo_not_found": ("Không còn ảnh này (chưa chụp, hoặc đã xóa theo thời hạn lưu ảnh).",
                        "This photo does not exist (never taken, or deleted after its retention period)."),
    "correction_needs_manager": ("Chỉ quản lý mới được hủy / đính chính hợp đồng: hãy gọi quản lý.",
                                 "Only a manager may correct or cancel a contract: call the manager."),
    "idempotency_key_reused": ("Mã chống gửi trùng (Idempotency-Key) này đã dùng cho một yêu cầu khác: hãy tạo mã mới cho hợp đồng mới.",
                               "This Idempotency-Key was already used for another request: send a new key for a new contract or event."),
    "bad_idempotency_key": ("Mã chống gửi trùng (Idempotency-Key) không hợp lệ: dùng 1-200 ký tự ASCII (ví dụ một UUID).",
                            "The Idempotency-Key is not valid: use 1-200 ASCII characters (a UUID, for example)."),
    "bad_id_number": ("Số định danh phải có 12 chữ số (CCCD), 9 chữ số (CMND) hoặc 4-6 chữ số cuối, chỉ gồm chữ số: kiểm tra lại số đã nhập.",
                      "An ID number is 12 digits (CCCD), 9 digits (CMND) or its last 4-6 digits, digits only: check what was typed."),
    "bad_serial": ("Số serial phải có chữ hoặc số: kiểm tra lại.", "A serial number needs letters or digits: check what was typed."),
    # the items of a contract (verifier/ledger/pawn_items.py): which item, what is wrong
    "bad_item": ("Tài sản số {item}: thông tin không hợp lệ, kiểm tra lại.", "Item {item}: its data is not valid; check it."),
    "bad_item.category": ("Tài sản số {item}: chọn loại tài sản (điện thoại, xe máy, máy tính, vàng bạc, đồng hồ hoặc khác).",
                          "Item {item}: choose a category (phone, motorbike, laptop, jewelry, watch or other)."),
    "bad_item.field_not_for_category": ("Tài sản số {item}: loại tài sản này không có ô “{field}”.",
                                        "Item {item}: this category has no field “{field}”."),
    "bad_item.too_long": ("Tài sản số {item}: ô “{field}” dài quá {max} ký tự.", "Item {item}: “{field}” is longer than {max} characters."),
    "bad_item.description_required": ("Tài sản số {item}: phải ghi mô tả tài sản.", "Item {item}: a description is required."),
    "bad_item.imei_length": ("Tài sản số {item}: IMEI phải có đúng 15 chữ số (đã nhập {found}).",
                             "Item {item}: an IMEI has exactly 15 digits ({found} typed)."),
    "bad_item.imei_checksum": ("Tài sản số {item}: IMEI sai (chữ số kiểm tra cuối cùng không khớp): đọc lại từng số trên máy (bấm *#06#).",
                               "Item {item}: the IMEI is wrong (its last check digit does not match): read it again from the phone (dial *#06#)."),
    "bad_item.frame_no_format": ("Tài sản số {item}: số khung chỉ gồm chữ và số, từ 5 đến 20 ký tự.",
                                 "Item {item}: a frame number has 5 to 20 letters or digits."),
    "bad_item.engine_no_format": ("Tài sản số {item}: số máy chỉ gồm chữ và số, từ 5 đến 20 ký tự.",
                                  "Item {item}: an engine number has 5 to 20 letters or digits."),
    "bad_item.plate_format": ("Tài sản số {item}: biển số không đúng dạng (ví dụ 59-X1 123.45 hoặc 51F-123.45).",
                              "Item {item}: the plate is not a Vietnamese plate (for example 59-X1 123.45 or 51F-123.45)."),
    "bad_item.photo_sha256": ("Tài sản số {item}: mã ảnh không hợp lệ: chụp lại ảnh tài sản.",
                              "Item {item}: the photo reference is not valid: take the item's photo again."),
    "item_photo_not_found": ("Không còn ảnh của tài sản số {item} (chưa chụp, hoặc lượt đọc thẻ đã hết hạn): chụp lại ảnh tài sản.",
                             "The photo of item {item} is gone (never taken, or the scan expired): take the item's photo again."),
    "too_many_item_photos": ("Đã chụp quá nhiều ảnh tài sản cho lượt đọc thẻ này (tối đa {max}).",
                             "Too many item photos for this scan (at most {max})."),
    "export_too_large": ("Quá nhiều bản ghi trong khoảng này: chọn khoảng thời gian ngắn hơn hoặc dùng lệnh chipid export.",
                         "Too many entries in that range: choose a shorter range or use chipid export."),
    # --- reports and customer files (verifier/api/reports.py) ------------------------------
    "bad_period": ("Khoảng thời gian không hợp lệ: ngày bắt đầu phải trước ngày kết thúc và dài tối đa {max_days} ngày.",
                   "The period is not valid: 'from' must come before 'to', at most {max_days} days."),
    "customer_not_found": ("Cửa hàng chưa có hợp đồng hay ghi chú nào về khách hàng này.",
                           "The shop has no contract or note on this customer."),
    # --- the shop's cash fund (verifier/ledger/cash_fund.py, verifier/api/cash.py) -----------
    "bad_cash_amount": ("Số tiền phải là số nguyên dương tính bằng đồng (không có phần lẻ), tối đa 100 tỷ đồng.",
                        "The amount must be a positive whole number of dong (no fraction), at most 100 billion dong."),
    "bad_cash_kind": ("Loại phiếu quỹ không hợp lệ: chọn nhập quỹ, rút quỹ, thu khác hoặc chi khác.",
                      "The kind of cash entry is not valid: choose fund in, fund out, other income or other expense."),
    "cash_reason_required": ("Phải ghi lý do (nội dung) của khoản nhập quỹ, rút quỹ, thu khác hoặc chi khác.",
                             "A reason is required for a cash fund movement or another income or expense."),
    "cash_note_required": ("Tiền đếm được lệch với tồn quỹ trên sổ: phải ghi giải thích chênh lệch.",
                           "The cash counted differs from the book's balance: explain the difference in the note."),
    "cash_text_too_long": ("Lý do hoặc ghi chú dài quá {max} ký tự.", "The reason or note is longer than {max} characters."),
    "cash_above_balance": ("Số tiền rút lớn hơn tồn quỹ trên sổ: kiểm tra lại số tiền, hoặc nhập quỹ trước.",
                           "The withdrawal is more than the book's balance: check the amount, or put cash in first."),
    # --- printing and the shop profile (verifier/api/receipt.py, verifier/ledger/shop_profile.py) ---
    "receipt_not_found": ("Không có phiếu thu/chi cho mục số {seq} của hợp đồng này (mục đó không có khoản tiền nào).",
                          "There is no receipt for entry {seq} of this contract (it moved no money)."),
    "bad_shop_profile": ("Thông tin cửa hàng không hợp lệ: kiểm tra lại.", "The shop profile is not valid: check it."),
    "bad_shop_profile.name_required": ("Phải nhập tên cửa hàng (tên in trên hợp đồng).",
                                       "The shop's name is required (it is printed on contracts)."),
    "bad_shop_profile.too_long": ("Một ô thông tin cửa hàng dài quá {max} ký tự.", "A field of the shop profile is longer than {max} characters."),
    "bad_shop_profile.phone": ("Số điện thoại cửa hàng gồm 8-20 chữ số (được có dấu cách, dấu chấm, gạch ngang).",
                               "The shop's phone has 8-20 digits (spaces, dots and dashes allowed)."),
    "bad_shop_profile.printer_layout": ("Khổ in phiếu phải là A5 hoặc 80 mm.", "The receipt layout must be a5 or 80mm."),
    # --- police backend (sync/backend) ----------------------------------------------------
    "device_not_enrolled": ("Thiết bị “{device_id}” chưa được ghi danh với máy chủ công an.",
                            "Device “{device_id}” is not enrolled at the police backend."),
    "enrollment_refused": ("Không ghi danh được thiết bị: mã ghi danh sai, đã dùng hoặc hết hạn, hoặc thiết bị đã được ghi danh.",
                           "The device cannot be enrolled: the enrolment token is wrong, used or expired, or the device is enrolled already."),
    "batch_refused": ("Máy chủ công an không nhận lô dữ liệu này ({reason}).", "The police backend refused this batch ({reason})."),
    "upgrade_required": ("Máy chủ công an không còn nhận dữ liệu từ phiên bản chipid cũ này: cửa hàng phải cập nhật chipid, "
                         "sau đó sổ cái sẽ tự gửi lại.",
                         "The police backend no longer accepts data from this old chipid version: the shop must update chipid, "
                         "then the ledger is sent again by itself."),
    "shop_not_found": ("Không có cửa hàng “{shop_id}”.", "No shop “{shop_id}”."),
    "shop_has_no_device": ("Cửa hàng “{shop_id}” chưa có thiết bị nào được ghi danh.", "Shop “{shop_id}” has no enrolled device."),
    "choose_device": ("Cửa hàng “{shop_id}” có nhiều thiết bị: chọn một thiết bị (?device=).",
                      "Shop “{shop_id}” has several devices: choose one (?device=)."),
    "device_not_in_shop": ("Thiết bị “{device_id}” không thuộc cửa hàng “{shop_id}”.",
                           "Device “{device_id}” does not belong to shop “{shop_id}”."),
    "alert_not_found": ("Không có cảnh báo này, hoặc cảnh báo đã được xác nhận.", "No such open alert."),
    "contract_not_found": ("Cửa hàng “{shop_id}” không có hợp đồng này.", "Shop “{shop_id}” has no such contract."),
    "province_not_found": ("Không có tỉnh, thành phố “{province}”.", "No province or city “{province}”."),
    "watchlist_item_not_found": ("Không có mục này trong danh sách truy tìm.", "No such active watchlist item."),
    # --- police downlink: holds, notices, trust updates, item photos (sync/downlink.py) ---------
    "item_on_hold": ("Tài sản của hợp đồng này đang bị công an tạm giữ ({reason}): không được chuộc, thanh lý hay hủy "
                     "cho đến khi công an giải tỏa.",
                     "The item of this contract is on a police hold ({reason}): it may not be redeemed, liquidated or "
                     "cancelled until the police release it."),
    "hold_not_found": ("Không có lệnh tạm giữ này.", "No such hold."),
    "hold_already_released": ("Lệnh tạm giữ này đã được giải tỏa.", "This hold is already released."),
    "contract_not_delivered": ("Cửa hàng chưa gửi hợp đồng này lên máy chủ công an: kiểm tra số hợp đồng.",
                               "The shop has not delivered this contract to the police backend: check the contract number."),
    "notice_not_found": ("Không có thông báo này của công an.", "No such police notice."),
    "downlink_unavailable": ("Máy chủ công an chưa có khóa ký lệnh gửi cửa hàng: gọi quản trị.",
                             "The police backend has no key to sign messages to the shops: call the administrator."),
    "device_auth_failed": ("Thiết bị không xác thực được với máy chủ công an (chữ ký hoặc giờ máy sai).",
                           "The device could not be authenticated (signature or clock wrong)."),
    "photo_mismatch": ("Ảnh tài sản không khớp với mã ảnh trong hợp đồng đã gửi.",
                       "The item photo does not match the photo reference in the delivered contract."),
    # --- ledger and service --------------------------------------------------------------
    "ledger_error": ("Lỗi sổ cái: hợp đồng chưa được lưu; gọi quản lý.",
                     "Ledger error: nothing was saved; call the manager."),
    "ledger_failed": ("Sổ cái ghi thất bại và ngừng nhận hợp đồng mới: kiểm tra ổ đĩa rồi khởi động lại dịch vụ, gọi quản lý.",
                      "The ledger failed to write and takes no new contracts: fix the disk and restart the service; call the manager."),
    "ledger_damaged": ("Sổ cái có bản ghi bị hỏng hoặc bị sửa: gọi quản lý.",
                       "The ledger has a damaged or altered entry: call the manager."),
    "sync_error": ("Chưa gửi được dữ liệu cho cơ quan công an: sẽ tự gửi lại; nếu kéo dài, gọi quản lý.",
                   "Delivery to the police backend failed: it is retried by itself; if it lasts, call the manager."),
    "misconfigured": ("Cấu hình dịch vụ sai: gọi quản lý.", "The service is misconfigured: call the manager."),
    "internal_error": ("Lỗi trong phần mềm: thử lại; nếu vẫn lỗi, gọi quản lý (chi tiết trong nhật ký dịch vụ).",
                       "Internal error: retry; if it persists, call the manager (details in the service log)."),
}

#: Codes whose two texts may be equal (proper nouns only); none today.
SAME_IN_BOTH: frozenset[str] = frozenset()

_FIELDS = string.Formatter()


def fields(text: str) -> set[str]:
    """The ``{name}`` fields of a catalogue text."""
    return {name for _, name, _, _ in _FIELDS.parse(text) if name}


def known(code: str | None) -> bool:
    return bool(code) and code in CATALOGUE


def _key(code: str, params: Mapping[str, Any] | None) -> str:
    rule = (params or {}).get("rule")
    return f"{code}.{rule}" if rule and f"{code}.{rule}" in CATALOGUE else code


def text(code: str, lang: str = DEFAULT_LANGUAGE, params: Mapping[str, Any] | None = None) -> str:
    """The sentence for ``code`` in ``lang`` (vi unless en), its fields filled from ``params``
    (an error's ``details``). An unknown code gives the internal-error sentence; a field that
    ``params`` lacks is shown as "…" (and logged: the raise site should pass it)."""
    key = _key(code, params) if code in CATALOGUE else "internal_error"
    vi, en = CATALOGUE[key]
    template = en if lang == "en" else vi
    values = {k: _show(v) for k, v in (params or {}).items() if isinstance(k, str)}
    missing = fields(template) - values.keys()
    if missing:
        log.warning("message %s lacks %s", key, ", ".join(sorted(missing)))
        values.update({name: "…" for name in missing})
    return template.format_map(values)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: The code of a project error that carries none, narrowest class first (README "Errors").
_CLASS_CODES: tuple[tuple[type[E.ChipidError], str], ...] = (
    (E.AccessDeniedError, "access_key_wrong"), (E.AccessKeyError, "access_key_invalid"),
    (E.LoginLockedError, "too_many_failed_logins"), (E.NotFoundError, "not_found"), (E.InputError, "invalid_input"),
    (E.NoReaderError, "no_reader"), (E.NoCardError, "no_card"), (E.CardRemovedError, "card_removed"),
    (E.ReaderBusyError, "reader_busy"), (E.TransportError, "reader_error"),
    (E.ChipError, "chip_error"), (E.ParseError, "chip_data_unreadable"),
    (E.TrustError, "trust_error"), (E.VerificationError, "verification_failed"),
    (E.ImageError, "bad_image"), (E.CameraError, "camera_error"), (E.BiometricsError, "device_unavailable"),
    (E.LedgerFailedError, "ledger_failed"), (E.TamperError, "ledger_damaged"), (E.LedgerError, "ledger_error"),
    (E.ConfigError, "misconfigured"), (E.SyncError, "sync_error"),
)


def error_code(exc: BaseException) -> str:
    """The catalogue code of an error: its own ``code`` if it carries a known one (``ContractRefused``,
    :func:`verifier.users.refused`), else its class's, else ``internal_error``."""
    own = getattr(exc, "code", None)
    if isinstance(own, str) and own in CATALOGUE:
        return own
    return next((code for cls, code in _CLASS_CODES if isinstance(exc, cls)), "internal_error")


_TAG = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def choose_language(accept_language: str | None, *fallbacks: str | None) -> str:
    """The language of an answer: the best of vi/en in an ``Accept-Language`` header (RFC 9110
    §12.5.4: quality values, ``vi-VN`` counts as ``vi``), else the first of ``fallbacks`` that is
    vi or en (the user's setting, then ``service.language``), else vi."""
    best, best_q = None, 0.0
    for position, part in enumerate((accept_language or "")[:500].split(",")[:20]):
        m = _TAG.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            continue
        lang = m.group(1).lower()
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    if best:
        return best
    return next((f for f in fallbacks if f in LANGUAGES), DEFAULT_LANGUAGE)
