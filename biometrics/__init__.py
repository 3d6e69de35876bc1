"""Camera capture, face verification, image quality and liveness.

Public API (stable; the scan service and the REST API call these)::

    from biometrics.verify import FaceVerifier, Frame, Reference, FaceResult
    from biometrics.compare import Thresholds          # match / no_match distances
    from biometrics.quality import QualityLimits, Reason
    from biometrics.camera import capture_best_frame, capture_frames, FrameSource
    from biometrics.liveness import new_challenge, check_liveness, Challenge, LivenessResult
    from biometrics.consent import Consent
    from biometrics.images import decode_image, read_image_file, encode_jpeg

    verifier = FaceVerifier(Thresholds(0.45, 0.60), QualityLimits())   # once per process
    pending = verifier.encode_reference_async(dg2_image_bytes)         # chip portrait, while the camera runs
    consent = Consent.now(scan_id)                                     # after the customer agreed
    frame = capture_best_frame(source, consent=consent, burst=5, warmup=5)
    result = verifier.verify(pending.result(), frame)                  # FaceResult
    result.to_json()   # {"decision", "distance", "score", "reasons": [{code, en, vi}], "elapsed_ms", "quality"}
    result.template    # 512 bytes (128 float32) to store instead of the frame

    challenge = new_challenge()                  # show challenge.prompt()["vi"] to the customer
    frames = capture_frames(source, consent=consent, seconds=4.0)
    liveness = check_liveness(frames, challenge)  # .status: passed | failed | not_performed
    if liveness.best_frame is not None:           # compare the live face itself with the chip
        result = verifier.verify(reference, frames[liveness.best_frame].image)

Errors: :class:`verifier.errors.ImageError` (undecodable, oversized, empty image),
:class:`verifier.errors.CameraError` (no camera, busy, black frames, stream down),
:class:`verifier.errors.BiometricsError` (no consent, models missing, bad thresholds).

Models and licences (all from PyPI wheels; none needs a download at run time):

* ``dlib-bin`` (Boost Software Licence): HOG frontal face detector, alignment;
* ``face_recognition_models`` (models by Davis King, released into the public domain):
  ``shape_predictor_5_face_landmarks.dat`` (trained on his own CC0 dataset) and
  ``dlib_face_recognition_resnet_model_v1.dat``. The 68-point model in the same package
  is never loaded: it was trained on iBUG 300-W, which forbids commercial use;
* OpenCV (Apache-2.0) and Pillow (MIT-CMU) for capture, decoding and image measures.
  Liveness uses only the 5-point landmarks and image measures (no further model file).

Layer rule (an import-linter contract in ``pyproject.toml``): this package imports numpy, cv2,
dlib, PIL and ``verifier.errors`` only; settings are passed in as dataclasses
(``verifier/face_settings.py`` builds them from ``config.toml``).
"""
