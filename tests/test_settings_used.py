"""Every declared setting is read by some code: a setting that nothing reads is a promise the
service does not keep (issue 16 item 8 removed ``face.liveness`` and ``privacy.contract_retention_years``)."""

from __future__ import annotations

import ast
from pathlib import Path

from verifier.config import SETTINGS

REPO = Path(__file__).resolve().parents[1]
PRODUCTION = ("verifier", "drivers", "biometrics", "sync")
#: Declared ahead of the code that reads it, which is being written (serve's daily trust refresh).
#: Not asserted either way: drop the key from here once the code is in.
PENDING = {"trust.auto_refresh"}


def string_constants(roots=tuple(REPO / p for p in PRODUCTION)) -> set[str]:
    """Every string literal in the code under ``roots``, except the declarations (``Setting(...)`` calls)."""
    found: set[str] = set()
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            declared = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call)
                        and getattr(node.func, "id", None) == "Setting" for arg in node.args}
            found |= {node.value for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in declared}
    return found


def test_every_setting_is_read_somewhere():
    read = string_constants()
    unread = sorted(s.key for s in SETTINGS if s.key not in read and s.key not in PENDING)
    assert unread == [], f"settings that no code reads (make them work or remove them from verifier/config.py): {unread}"


def test_a_declaration_alone_is_not_a_read(tmp_path):
    (tmp_path / "config.py").write_text('SETTINGS = [Setting("face.liveness", "challenge", "help")]\n')
    (tmp_path / "use.py").write_text('seconds = cfg["face.liveness_seconds"]\n')
    found = string_constants([tmp_path])
    assert "face.liveness_seconds" in found and "face.liveness" not in found
