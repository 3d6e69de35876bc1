"""Image-quality gates for a face, each with a reason a clerk understands (Vietnamese and English).

Measures (all on the face, not the whole frame):

* ``face_px``: width of the detected face box in pixels (the HOG box spans roughly
  the eyebrows to the chin, about 0.9x the face width);
* ``brightness``: mean grey level (0-255) of the face box; ``overexposed``: fraction
  of face pixels at >= 250;
* ``sharpness``: variance of the Laplacian of the face box resampled to 128x128 (so it
  does not depend on the face size), divided by the variance of the grey levels (so it
  does not depend on brightness or contrast), x100: the test photos and their chip-like
  portraits score 13-85, the same blurred with a Gaussian of sigma = face width / 50 score
  0.6-1.4;
* ``yaw``: horizontal offset of the base of the nose from the midpoint of the eyes,
  in inter-eye distances, along the eye line (0 frontal; about 0.25 at 30 degrees of head
  turn, 0.4 at 45 degrees; a photo tilted in front of the camera keeps it near 0);
* ``roll``: angle of the eye line in degrees (alignment corrects it, reported only);
* ``eye_openness``: ratio of horizontal to vertical gradient energy in the middle of
  each eye (iris/sclera edges are vertical, a closed lid and lashes are horizontal):
  open eyes measure 0.4-1.1, closed 0.15-0.35. Judged only when the eye is at least
  :attr:`QualityLimits.min_eye_px` wide.

Thresholds live in :class:`QualityLimits` (settings ``face.min_face_px`` etc.).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrics.faces import Face, eye_points, nose_point


@dataclass(frozen=True)
class Reason:
    """Why a face was refused or flagged: a stable ``code`` and the text in both languages."""

    code: str
    en: str
    vi: str

    def to_json(self) -> dict:
        return {"code": self.code, "en": self.en, "vi": self.vi}


def reason(code: str, **values) -> Reason:
    en, vi = _TEXT[code]
    return Reason(code, en.format(**values), vi.format(**values))


_TEXT = {
    "no_face": ("No face found in the {what}.", "Không tìm thấy khuôn mặt trong {what_vi}."),
    "multiple_faces": ("{n} faces in the {what}: only the customer should be in front of the camera.",
                       "Có {n} khuôn mặt trong {what_vi}: chỉ khách hàng được đứng trước camera."),
    "face_too_small": ("Face too small ({px} px wide, need {min} px): move closer to the camera.",
                       "Khuôn mặt quá nhỏ ({px} px, cần {min} px): đề nghị khách lại gần camera hơn."),
    "too_dark": ("Face too dark (brightness {value} of 255): add light or face the light.",
                 "Khuôn mặt quá tối (độ sáng {value}/255): bật thêm đèn hoặc quay mặt về phía ánh sáng."),
    "overexposed": ("Face overexposed (brightness {value} of 255): avoid direct light or glare.",
                    "Khuôn mặt bị cháy sáng (độ sáng {value}/255): tránh đèn chiếu thẳng hoặc bị lóa."),
    "blurred": ("Face blurred (sharpness {value}, need {min}): hold still and check the camera focus.",
                "Ảnh khuôn mặt bị mờ (độ nét {value}, cần {min}): đề nghị khách đứng yên, kiểm tra lấy nét camera."),
    "off_frontal": ("Head turned too far to the side: look straight at the camera.",
                    "Khách quay mặt sang bên quá nhiều: đề nghị nhìn thẳng vào camera."),
    "eyes_closed": ("Eyes closed: ask the customer to open their eyes and look at the camera.",
                    "Khách đang nhắm mắt: đề nghị mở mắt và nhìn vào camera."),
    "face_cut_off": ("Face partly outside the picture: centre the face.",
                     "Khuôn mặt bị cắt ra ngoài khung hình: đề nghị đưa mặt vào giữa khung."),
}

WHAT = {
    "frame": ("camera picture", "ảnh chụp từ camera"),
    "reference": ("chip portrait", "ảnh chân dung trong chip"),
    "image": ("image", "ảnh"),
}


def what(kind: str) -> dict:
    en, vi = WHAT.get(kind, WHAT["image"])
    return {"what": en, "what_vi": vi}


@dataclass(frozen=True)
class QualityLimits:
    """Gate thresholds. Calibrated on ``shared/data/faces`` and synthetic degradations
    (see the module docstring and ``benchmarks/bench_face.py``)."""

    min_face_px: int = 80
    min_brightness: float = 55.0
    max_brightness: float = 215.0
    max_overexposed: float = 0.25
    min_sharpness: float = 4.0
    max_yaw: float = 0.32
    min_eye_openness: float = 0.30
    min_eye_px: int = 14
    #: a second face at least this fraction of the largest face's width counts as another person.
    other_face_ratio: float = 0.5


@dataclass(frozen=True)
class Quality:
    measures: dict
    issues: tuple[Reason, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.issues

    def to_json(self) -> dict:
        return {"ok": self.ok, "measures": self.measures, "issues": [r.to_json() for r in self.issues]}


def face_crop(rgb: np.ndarray, face: Face, size: int = 128) -> np.ndarray:
    """The face box (clipped to the picture) as a ``size`` x ``size`` grey image."""
    h, w = rgb.shape[:2]
    x0, y0 = max(0, face.left), max(0, face.top)
    x1, y1 = min(w, face.right), min(h, face.bottom)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros((size, size), np.uint8)
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    interp = cv2.INTER_AREA if (x1 - x0) > size else cv2.INTER_LINEAR
    return cv2.resize(grey, (size, size), interpolation=interp)


def pose(face: Face) -> tuple[float, float]:
    """(yaw, roll): yaw as the nose offset from the eye midpoint in inter-eye distances,
    positive when the nose is toward the image's right; roll in degrees."""
    (r_out, r_in), (l_out, l_in) = eye_points(face)
    right_eye, left_eye = (r_out + r_in) / 2, (l_out + l_in) / 2  # image-right eye, image-left eye
    axis = right_eye - left_eye
    dist = float(np.linalg.norm(axis))
    if dist < 1e-6:
        return 0.0, 0.0
    u = axis / dist
    yaw = float(np.dot(nose_point(face) - (right_eye + left_eye) / 2, u)) / dist
    roll = float(np.degrees(np.arctan2(axis[1], axis[0])))
    return yaw, roll


def _eye_patch(grey: np.ndarray, outer: np.ndarray, inner: np.ndarray, width: int = 60, height: int = 40) -> np.ndarray:
    c = (outer + inner) / 2
    d = inner - outer
    w = float(np.linalg.norm(d))
    u = d / max(w, 1e-6)
    v = np.array([-u[1], u[0]])
    s = 1.5 * w / width
    m = np.array([[u[0] * s, v[0] * s, 0.0], [u[1] * s, v[1] * s, 0.0]])
    m[:, 2] = c - m[:, 0] * width / 2 - m[:, 1] * height / 2
    return cv2.warpAffine(grey, m, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def eye_openness(rgb_or_grey: np.ndarray, face: Face) -> tuple[float | None, float]:
    """(mean openness of both eyes, eye width in px); openness None when the eyes are too small to judge."""
    grey = rgb_or_grey if rgb_or_grey.ndim == 2 else cv2.cvtColor(rgb_or_grey, cv2.COLOR_RGB2GRAY)
    values, widths = [], []
    for outer, inner in eye_points(face):
        widths.append(float(np.linalg.norm(inner - outer)))
        p = cv2.GaussianBlur(_eye_patch(grey, outer, inner).astype(np.float32), (3, 3), 0)
        # patch: 60 px = 1.5 eye widths, so 40 px per eye width; look at +-0.22 w vertically, +-0.4 w across
        r = p[20 - 9:20 + 9, 30 - 16:30 + 16]
        gx = float(np.abs(np.diff(r, axis=1)).mean())
        gy = float(np.abs(np.diff(r, axis=0)).mean())
        values.append(gx / (gy + 1e-3))
    return float(np.mean(values)), float(np.mean(widths))


def assess(rgb: np.ndarray, face: Face, limits: QualityLimits = QualityLimits(), *,
           check_eyes: bool = True) -> Quality:
    """Measure one face and list every gate it fails (empty ``issues`` = good enough)."""
    h, w = rgb.shape[:2]
    crop = face_crop(rgb, face)
    inner = crop[13:115, 13:115]
    brightness = float(inner.mean())
    overexposed = float((inner >= 250).mean())
    sharpness = float(cv2.Laplacian(inner, cv2.CV_64F).var() / (inner.var() + 1.0)) * 100.0
    yaw, roll = pose(face)
    openness, eye_px = eye_openness(rgb, face) if check_eyes else (None, 0.0)
    cut = face.left < -0.1 * face.width or face.right > w + 0.1 * face.width or \
        face.top < -0.1 * face.height or face.bottom > h + 0.1 * face.height
    measures = {
        "face_px": int(face.width),
        "brightness": round(brightness, 1),
        "overexposed": round(overexposed, 3),
        "sharpness": round(sharpness, 1),
        "yaw": round(yaw, 3),
        "roll": round(roll, 1),
        "eye_openness": None if openness is None or eye_px < limits.min_eye_px else round(openness, 3),
        "cut_off": bool(cut),
    }
    issues = []
    if face.width < limits.min_face_px:
        issues.append(reason("face_too_small", px=face.width, min=limits.min_face_px))
    if brightness < limits.min_brightness:
        issues.append(reason("too_dark", value=round(brightness)))
    elif brightness > limits.max_brightness or overexposed > limits.max_overexposed:
        issues.append(reason("overexposed", value=round(brightness)))
    if sharpness < limits.min_sharpness:
        issues.append(reason("blurred", value=round(sharpness, 1), min=limits.min_sharpness))
    if abs(yaw) > limits.max_yaw:
        issues.append(reason("off_frontal"))
    if measures["eye_openness"] is not None and measures["eye_openness"] < limits.min_eye_openness:
        issues.append(reason("eyes_closed"))
    return Quality(measures, tuple(issues))


def other_faces(faces: list[Face], limits: QualityLimits = QualityLimits()) -> list[Face]:
    """Faces (besides the largest) big enough to be another person at the counter."""
    if len(faces) < 2:
        return []
    main = faces[0]
    return [f for f in faces[1:] if f.width >= limits.other_face_ratio * main.width]
