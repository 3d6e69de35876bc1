"""The legal text printed on a pawn contract: its basis, the parties' rights and duties, overdue items,
liquidation, and the personal-data consent clause. One source for the HTML page and the PDF.

Sources (Vietnamese law as in force for pawnshops):

* Bộ luật Dân sự 2015 (Law 91/2015/QH13), Section 2 "Cầm cố tài sản", arts. 309-316: art. 309 (what a
  pawn is), 310 (effect from the signing), 311-312 (the pawner's duties and rights), 313-314 (the pawnee's
  duties and rights), 315-316 (return of the item, end of the pawn); art. 299 and 303 (when and how a
  pledged item is realised), art. 307 (the proceeds: the surplus goes back to the pawner, a shortfall stays
  owed), art. 468 (the interest cap, 20 %/year). Arts. 317-327 that follow are on mortgage (thế chấp),
  not on pawn.
* Nghị định 96/2016/NĐ-CP, art. 29 (a pawnshop's duties: check the pawner's identity papers, a written
  contract, items with proof of ownership only, safe keeping, interest within the Civil Code's cap).
* Nghị định 13/2023/NĐ-CP on personal data protection: art. 11 (consent, given in a form that can be
  printed), art. 2(4) (biometric data is sensitive personal data), art. 9 (the data subject's rights),
  art. 13 (what the data subject must be told: purpose, data processed, who processes it, how long it
  is kept, to whom it is transferred).

Each function returns plain paragraphs (``list[str]``) or ``(heading, paragraphs)`` sections, so the
template and the PDF print the same words.
"""

from __future__ import annotations

BASIS = [
    "Căn cứ Bộ luật Dân sự số 91/2015/QH13 ngày 24/11/2015, Mục 2 Chương III Phần thứ ba về cầm cố tài sản "
    "(Điều 309 đến Điều 316) và Điều 468 về lãi suất;",
    "Căn cứ Nghị định số 96/2016/NĐ-CP ngày 01/7/2016 của Chính phủ quy định điều kiện về an ninh, trật tự "
    "đối với một số ngành, nghề đầu tư kinh doanh có điều kiện (Điều 29 – kinh doanh dịch vụ cầm đồ);",
    "Căn cứ Nghị định số 13/2023/NĐ-CP ngày 17/4/2023 của Chính phủ về bảo vệ dữ liệu cá nhân;",
    "Hai bên thỏa thuận ký kết hợp đồng cầm cố tài sản với các điều khoản sau:",
]


def terms(*, max_rate: float, term_days: int) -> list[tuple[str, list[str]]]:
    """The numbered articles after the items and the money (Điều 3 onwards of the printed contract)."""
    return [
        ("Điều 3. Quyền và nghĩa vụ của Bên cầm cố (Bên B)", [
            "a) Giao tài sản cầm cố và giấy tờ chứng minh quyền sở hữu (nếu có) cho Bên A; cam đoan tài sản thuộc "
            "quyền sở hữu hợp pháp của mình, không có tranh chấp, không phải tài sản do phạm tội mà có; báo cho "
            "Bên A quyền của người thứ ba đối với tài sản (nếu có) (Điều 311 BLDS).",
            "b) Trả đủ tiền gốc và tiền lãi theo Điều 2 khi chuộc lại tài sản; được trả trước hạn, trả bớt gốc "
            "hoặc gia hạn nếu Bên A đồng ý, lãi tính theo số ngày thực tế trên số tiền gốc còn nợ.",
            "c) Được yêu cầu Bên A trả lại tài sản và giấy tờ khi đã thực hiện xong nghĩa vụ; yêu cầu Bên A bồi "
            "thường nếu làm mất, hư hỏng tài sản; yêu cầu Bên A không khai thác, sử dụng tài sản (Điều 312 BLDS).",
        ]),
        ("Điều 4. Quyền và nghĩa vụ của Bên nhận cầm cố (Bên A)", [
            "a) Kiểm tra giấy tờ tùy thân của Bên B, lập hợp đồng bằng văn bản, chỉ nhận tài sản có giấy tờ sở "
            "hữu hợp pháp đối với loại tài sản phải có, bảo quản tài sản an toàn tại nơi cất giữ đã ghi "
            "(Điều 29 Nghị định 96/2016/NĐ-CP).",
            "b) Không bán, trao đổi, tặng cho, cho thuê, cho mượn, dùng tài sản cầm cố để bảo đảm nghĩa vụ khác, "
            "không khai thác, sử dụng tài sản; làm mất hoặc hư hỏng thì phải bồi thường; trả lại tài sản và giấy "
            "tờ ngay khi Bên B thực hiện xong nghĩa vụ (Điều 313 BLDS).",
            f"c) Thu lãi đúng lãi suất đã thỏa thuận, không vượt quá {max_rate:g} %/năm kể cả phí (Điều 468 BLDS); "
            "lập phiếu thu, phiếu chi cho mỗi lần nhận, trả tiền; được xử lý tài sản theo Điều 6 khi Bên B không "
            "thực hiện nghĩa vụ (Điều 314 BLDS).",
        ]),
        ("Điều 5. Quá hạn", [
            f"Thời hạn cầm cố là {term_days} ngày kể từ ngày ký. Đến ngày đến hạn mà Bên B không chuộc lại tài sản "
            "và không được gia hạn thì Bên A thông báo cho Bên B theo số điện thoại, địa chỉ đã ghi; lãi tiếp tục "
            "tính theo ngày trên số tiền gốc chưa trả với lãi suất của hợp đồng cho đến ngày chuộc hoặc ngày xử lý "
            "tài sản. Bên B mất quyền chuộc khi Bên A ghi nhận quá hạn sau thời gian thông báo hợp lý.",
        ]),
        ("Điều 6. Xử lý (thanh lý) tài sản", [
            "Bên A được bán tài sản cầm cố khi Bên B không chuộc khi quá hạn (Điều 299, 303 BLDS). Tiền bán được "
            "dùng để thanh toán tiền gốc, tiền lãi và chi phí bảo quản, bán tài sản; phần còn thừa Bên A trả lại "
            "cho Bên B, phần còn thiếu Bên B tiếp tục phải trả (Điều 307 BLDS). Việc thanh lý được ghi vào sổ theo "
            "dõi và lập phiếu thu, phiếu chi.",
        ]),
    ]


def consent(*, face_retention_days: int) -> tuple[str, list[str]]:
    """The consent clause (Decree 13/2023/NĐ-CP art. 11 and 13), signed by the pawner with the contract."""
    return ("Điều 7. Đồng ý xử lý dữ liệu cá nhân (Nghị định 13/2023/NĐ-CP)", [
        "a) Dữ liệu được xử lý: họ tên, số định danh cá nhân (CCCD) và số CMND cũ, ngày sinh, giới tính, quốc tịch, "
        "quê quán, nơi thường trú, chỗ ở hiện tại, số điện thoại, ngày cấp và hạn của thẻ đọc từ chip; ảnh chân dung "
        "trên chip, ảnh chụp tại quầy và đặc điểm khuôn mặt (dữ liệu sinh trắc học – dữ liệu cá nhân nhạy cảm, "
        "Điều 2 khoản 4); thông tin tài sản cầm cố và các khoản tiền.",
        "b) Mục đích: xác minh danh tính và thẻ căn cước thật (chống giả mạo), lập và thực hiện hợp đồng này, ghi "
        "sổ theo dõi cầm đồ theo Điều 29 Nghị định 96/2016/NĐ-CP, phục vụ việc kiểm tra của cơ quan Công an.",
        f"c) Thời gian lưu trữ: ảnh khuôn mặt được xóa sau {face_retention_days} ngày; hợp đồng và sổ theo dõi "
        "được lưu trong sổ cái mã hóa, không sửa, không xóa, để cơ quan có thẩm quyền kiểm tra theo quy định.",
        "d) Chuyển giao: sổ theo dõi cầm đồ (gồm dữ liệu trên) được chuyển cho cơ quan Công an quản lý ngành, "
        "nghề kinh doanh có điều kiện về an ninh, trật tự qua kênh được mã hóa và ký số; không cung cấp cho bên "
        "thứ ba nào khác trừ khi pháp luật quy định.",
        "e) Bên B có các quyền của chủ thể dữ liệu theo Điều 9 Nghị định 13/2023/NĐ-CP (được biết, truy cập, yêu "
        "cầu chỉnh sửa, khiếu nại...), trong giới hạn nghĩa vụ lưu giữ sổ theo dõi của Bên A theo pháp luật.",
        "Bên B đã được đọc điều khoản này và đồng ý cho Bên A xử lý dữ liệu cá nhân của mình như trên.",
    ])


CLOSING = ("Hợp đồng có hiệu lực từ thời điểm ký (Điều 310 BLDS), được lập thành 02 bản có giá trị như nhau, "
           "mỗi bên giữ 01 bản.")
