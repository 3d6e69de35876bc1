"""Synthetic pictures for tests, benchmarks and the demo: camera-like frames and degradations.

Nothing here is used on a real scan. Degradations mimic what the quality gates and the
liveness check must catch: darkness, blur, a tiny face, two faces, closed eyes, a head
turn (the base of the nose displaced relative to the eyes, as a real 3-D head does) and
a flat photo tilted in front of the camera (a planar perspective warp, which does not).
"""

from __future__ import annotations

import cv2
import numpy as np

from biometrics.faces import Face, eye_points, nose_point


def camera_frame(rgb: np.ndarray, face: Face, *, size: tuple[int, int] = (640, 480), face_px: int = 200,
                 center: tuple[float, float] | None = None) -> tuple[np.ndarray, float]:
    """Place ``rgb`` scaled so the face is ``face_px`` wide into a ``size`` frame; returns (frame, scale)."""
    w, h = size
    s = face_px / max(face.width, 1)
    cx, cy = center or (w / 2, h * 0.45)
    fx, fy = (face.left + face.right) / 2 * s, (face.top + face.bottom) / 2 * s
    m = np.float32([[s, 0, cx - fx], [0, s, cy - fy]])
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(rgb, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE), s


def darken(rgb: np.ndarray, factor: float = 0.2) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def overexpose(rgb: np.ndarray, factor: float = 3.0) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) * factor + 40, 0, 255).astype(np.uint8)


def blur(rgb: np.ndarray, face: Face, strength: float = 1 / 50) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), max(1.0, face.width * strength))


def side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    h = min(a.shape[0], b.shape[0])
    a = cv2.resize(a, (round(a.shape[1] * h / a.shape[0]), h))
    b = cv2.resize(b, (round(b.shape[1] * h / b.shape[0]), h))
    return np.ascontiguousarray(np.hstack([a, b]))


def jitter(rgb: np.ndarray, rng: np.random.Generator, shift: float = 1.5, noise: float = 2.0) -> np.ndarray:
    """Sensor noise and a tiny shift, so consecutive synthetic frames differ like a live camera's."""
    dx, dy = rng.uniform(-shift, shift, 2)
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    out = cv2.warpAffine(rgb, m, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    out += rng.normal(0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def close_eyes(rgb: np.ndarray, face: Face) -> np.ndarray:
    """Paint both eyes shut: skin from just below each eye over it, and a curved lash line."""
    out = rgb.copy()
    for outer, inner in eye_points(face):
        c = (outer + inner) / 2
        d = inner - outer
        w = float(np.linalg.norm(d))
        u = d / w
        v = np.array([-u[1], u[0]])
        if v[1] < 0:
            v = -v
        mask = np.zeros(rgb.shape[:2], np.uint8)
        cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(w * 0.7), int(w * 0.35)),
                    float(np.degrees(np.arctan2(u[1], u[0]))), 0, 360, 255, -1)
        shift = v * w * 0.7
        m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
        src = cv2.warpAffine(rgb, m, (rgb.shape[1], rgb.shape[0]), flags=cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)
        soft = cv2.GaussianBlur(mask, (0, 0), w * 0.08 + 0.5).astype(np.float32)[..., None] / 255
        out = (out * (1 - soft) + src * soft).astype(np.uint8)
        pts = np.array([c + u * w * t * 0.55 + v * w * (0.02 + 0.08 * (1 - t * t)) for t in np.linspace(-1, 1, 9)],
                       np.int32)
        cv2.polylines(out, [pts], False, (50, 35, 30), max(1, int(w * 0.05)), cv2.LINE_AA)
    return out


def turn_head(rgb: np.ndarray, face: Face, amount: float) -> np.ndarray:
    """Move the nose and mouth sideways relative to the eyes by ``amount`` inter-eye distances
    (positive: toward the picture's right), as a real head turn does."""
    (r_out, r_in), (l_out, l_in) = eye_points(face)
    eye_dist = float(np.linalg.norm((r_out + r_in) / 2 - (l_out + l_in) / 2))
    nose = nose_point(face)
    h, w = rgb.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sigma = eye_dist * 0.45
    cy = nose[1] + eye_dist * 0.2
    weight = np.exp(-(((xs - nose[0]) ** 2) / (2 * sigma ** 2) + ((ys - cy) ** 2) / (2 * (sigma * 1.6) ** 2)))
    dx = amount * eye_dist * weight
    return cv2.remap(rgb, (xs - dx).astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def tilt_photo(rgb: np.ndarray, angle_deg: float) -> np.ndarray:
    """A flat photo swung about its vertical axis by ``angle_deg`` (perspective warp)."""
    h, w = rgb.shape[:2]
    a = np.radians(angle_deg)
    f = w * 1.2
    pts = []
    for x, y in ((0, 0), (w, 0), (w, h), (0, h)):
        X, Y = x - w / 2, y - h / 2
        Z = X * np.sin(a)
        Xr = X * np.cos(a)
        s = f / (f + Z)
        pts.append((w / 2 + Xr * s, h / 2 + Y * s))
    m = cv2.getPerspectiveTransform(np.float32([(0, 0), (w, 0), (w, h), (0, h)]), np.float32(pts))
    return cv2.warpPerspective(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
