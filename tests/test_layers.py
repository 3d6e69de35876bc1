"""ARCHITECTURE.md layer rules: the protocol core imports no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = [REPO / "verifier" / p for p in ("icao", "cccd", "trust")]
CORE_FILES = [REPO / "verifier" / f for f in ("errors.py", "verdict.py", "transport.py", "inspection.py", "report.py")]
FORBIDDEN_IN_CORE = {"smartcard", "nfc", "cv2", "fastapi", "sqlite3", "sqlite_utils", "httpx", "uvicorn",
                     "face_recognition", "dlib", "PIL", "numpy", "sqlalchemy", "psycopg", "starlette"}
FORBIDDEN_IN_BIOMETRICS = {"smartcard", "nfc", "fastapi", "sqlite3", "sqlite_utils", "httpx", "sqlalchemy", "psycopg"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
            if node.module.startswith("verifier."):
                names.add(node.module)
    return names


def _py_files(roots):
    for root in roots:
        if root.is_file():
            yield root
        else:
            yield from sorted(root.rglob("*.py"))


def test_core_imports_no_io_library():
    offenders = {}
    for path in _py_files(CORE + CORE_FILES):
        bad = _imports(path) & FORBIDDEN_IN_CORE
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_core_does_not_import_service_layer():
    service = ("verifier.ledger", "verifier.api", "verifier.commands", "verifier.cli", "verifier.scan", "verifier.config")
    offenders = {}
    for path in _py_files(CORE + CORE_FILES):
        bad = [m for m in _imports(path) if m.startswith(service)]
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_biometrics_imports_no_reader_or_storage():
    offenders = {}
    for path in _py_files([REPO / "biometrics"]):
        bad = _imports(path) & FORBIDDEN_IN_BIOMETRICS
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import smartcard.System\nfrom cv2 import imread\n")
    assert _imports(bad) & FORBIDDEN_IN_CORE == {"smartcard", "cv2"}
