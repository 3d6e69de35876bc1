"""``chipid face``: compare face images, capture from the camera, run the liveness challenge.

``chipid face compare IMAGE_A IMAGE_B [--json]``: IMAGE_A plays the chip portrait, IMAGE_B
the camera picture (quality gates apply to B).
``chipid face compare --pairs FILE.csv [--json]``: a CSV with a header and the columns
``file_x,file_y`` (others ignored; relative paths are tried from the current directory,
then from the CSV's folder). Models load once; one JSON object per line, in input order.
Exit 0 when every comparison ran, 1 when one could not (the object carries ``error``
and ``decision`` null; the message names the file).

The settings become ``biometrics`` objects in :mod:`verifier.face_settings`, as for the counter.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import click

from verifier.cli_options import cli_config, config_option
from verifier.errors import BiometricsError, InputError
from verifier.face_settings import camera_kwargs, limits_from_config, verifier_from_config


@click.group("face")
def face() -> None:
    """Khuôn mặt / faces: so sánh ảnh chip với camera, chụp ảnh, kiểm tra người thật."""


def _human(result: dict, label: str = "") -> str:
    dist = "-" if result["distance"] is None else f"{result['distance']:.3f}"
    score = "-" if result["score"] is None else f"{result['score']}/100"
    lines = [f"{label}{result['decision']}  score {score}  distance {dist}  ({result['elapsed_ms']:.0f} ms)"]
    for r in result["reasons"]:
        lines.append(f"  {r['vi']} / {r['en']}")
    return "\n".join(lines)


def _resolve(name: str, base: Path) -> Path:
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    return base / path


@face.command("compare")
@click.argument("images", nargs=-1, type=click.Path(path_type=Path))
@click.option("--pairs", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV with a header and columns file_x,file_y: compare each row (x = chip portrait side).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per comparison.")
@config_option
def compare_cmd(images: tuple[Path, ...], pairs: Path | None, as_json: bool, config_path: Path | None) -> None:
    """So sánh khuôn mặt / compare IMAGE_A (chip portrait) with IMAGE_B (camera picture)."""
    if pairs is None and len(images) != 2:
        raise click.UsageError("expected two images (IMAGE_A IMAGE_B) or --pairs FILE.csv")
    if pairs is not None and images:
        raise click.UsageError("give either two images or --pairs, not both")
    cfg = cli_config(config_path)
    from biometrics.images import read_image_file
    from verifier.errors import ImageError

    try:
        verifier = verifier_from_config(cfg)
        verifier.models  # load once, outside the per-pair timing
    except BiometricsError as e:
        raise click.ClickException(str(e)) from e

    def run(a: Path, b: Path) -> dict:
        t0 = time.perf_counter()
        ref = verifier.encode_reference(read_image_file(a), name=str(a))
        return verifier.verify(ref, read_image_file(b), name=str(b), started=t0).to_json()

    if pairs is None:
        a, b = images
        try:
            result = run(a, b)
        except (ImageError, BiometricsError) as e:
            raise click.ClickException(str(e)) from e
        click.echo(json.dumps(result, ensure_ascii=False) if as_json else _human(result))
        return

    try:
        with pairs.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = rows[0].keys() if rows else []
    except FileNotFoundError as e:
        raise click.ClickException(f"{pairs}: no such file") from e
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise click.ClickException(f"{pairs}: cannot be read as CSV ({e})") from e
    if rows and not {"file_x", "file_y"} <= set(header):
        raise click.ClickException(f"{pairs}: expected a header with the columns file_x,file_y, found {list(header)}")
    failed = 0
    for n, row in enumerate(rows, start=2):
        x, y = (row.get("file_x") or "").strip(), (row.get("file_y") or "").strip()
        t0 = time.perf_counter()
        try:
            if not x or not y:
                raise ImageError(f"{pairs} line {n}: file_x or file_y is empty")
            result = run(_resolve(x, pairs.parent), _resolve(y, pairs.parent))
        except (ImageError, BiometricsError) as e:
            failed += 1
            click.echo(f"error: {e}", err=True)
            result = {"decision": None, "distance": None, "score": None, "reasons": [],
                      "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1), "error": str(e)}
        result = {"file_x": x, "file_y": y, **result}
        click.echo(json.dumps(result, ensure_ascii=False) if as_json else _human(result, f"{x} ~ {y}: "))
    if failed:
        click.echo(f"{failed} of {len(rows)} comparisons could not run", err=True)
        sys.exit(1)


@face.command("capture")
@click.option("--camera", "source", default=None, help="Camera source (overrides camera.source): 0, /dev/video0, rtsp://..., an image/video file.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the chosen frame here (.jpg or .png).")
@click.option("--json", "as_json", is_flag=True)
@config_option
def capture_cmd(source: str | None, out: Path | None, as_json: bool, config_path: Path | None) -> None:
    """Chụp ảnh / grab the best frame from the camera and report its quality.

    Running this command records that the person in front of the camera agreed to be
    photographed (Decree 13/2023): ask first.
    """
    cfg = cli_config(config_path)
    from biometrics.camera import capture_best_frame, describe_source
    from biometrics.consent import Consent
    from biometrics.images import encode_jpeg

    source = source if source is not None else str(cfg["camera.source"])
    try:
        frame = capture_best_frame(source, consent=Consent.now("cli-capture", method="operator-cli"),
                                   limits=limits_from_config(cfg), **camera_kwargs(cfg))
    except BiometricsError as e:
        raise click.ClickException(str(e)) from e
    h, w = frame.image.shape[:2]
    report = {"source": describe_source(source), "width": w, "height": h, "faces": len(frame.faces or ()),
              "ok": bool(frame.quality and frame.quality.ok),
              "quality": frame.quality.measures if frame.quality else None,
              "reasons": [r.to_json() for r in frame.quality.issues] if frame.quality else []}
    if not frame.faces:
        report["reasons"] = [{"code": "no_face", "en": "No face found in the camera picture.",
                              "vi": "Không tìm thấy khuôn mặt trong ảnh chụp từ camera."}]
    elif frame.quality is None:
        report["reasons"] = [{"code": "multiple_faces", "en": "More than one face in the camera picture.",
                              "vi": "Có nhiều hơn một khuôn mặt trong ảnh chụp từ camera."}]
    if out is not None:
        try:
            if out.suffix.lower() == ".png":
                from PIL import Image

                Image.fromarray(frame.image).save(out, format="PNG")
            else:
                out.write_bytes(encode_jpeg(frame.image))
        except OSError as e:
            raise click.ClickException(f"{out}: cannot be written ({e})") from e
        report["out"] = str(out)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(f"{report['source']}: {w}x{h}, {report['faces']} face(s), quality {'ok' if report['ok'] else 'NOT ok'}")
    if report["quality"]:
        click.echo("  " + ", ".join(f"{k}={v}" for k, v in report["quality"].items()))
    for r in report["reasons"]:
        click.echo(f"  {r['vi']} / {r['en']}")
    if out is not None:
        click.echo(f"  saved to {out}")


@face.command("liveness")
@click.option("--camera", "source", default=None, help="Camera source (overrides camera.source); a folder of images or a video file replays a recording.")
@click.option("--steps", default=None, help="Challenge steps, comma-separated (blink, turn_left, turn_right). Default: random.")
@click.option("--seconds", type=float, default=None, help="Recording time (default: face.liveness_seconds).")
@click.option("--json", "as_json", is_flag=True)
@config_option
def liveness_cmd(source: str | None, steps: str | None, seconds: float | None, as_json: bool,
                 config_path: Path | None) -> None:
    """Kiểm tra người thật / run the liveness challenge (prints the prompt, records, judges)."""
    cfg = cli_config(config_path)
    from biometrics.camera import capture_frames
    from biometrics.consent import Consent
    from biometrics.liveness import Challenge, check_liveness, new_challenge

    try:
        challenge = Challenge(tuple(s.strip() for s in steps.split(","))) if steps else new_challenge()
    except InputError as e:
        raise click.UsageError(str(e)) from e
    source = source if source is not None else str(cfg["camera.source"])
    prompt = challenge.prompt()
    if not as_json:
        click.echo(f"{prompt['vi']} / {prompt['en']}")
    try:
        frames = capture_frames(source, consent=Consent.now("cli-liveness", method="operator-cli"),
                                seconds=seconds or float(cfg["face.liveness_seconds"]),
                                width=int(cfg["camera.width"]), height=int(cfg["camera.height"]),
                                timeout_s=float(cfg["camera.timeout_s"]))
        result = check_liveness(frames, challenge, mirrored=bool(cfg["camera.mirrored"]))
    except BiometricsError as e:
        raise click.ClickException(str(e)) from e
    out = {"challenge": challenge.to_json(), **result.to_json()}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"{result.status}: {result.reason.vi} / {result.reason.en}")
