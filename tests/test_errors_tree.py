"""The exception tree drawn in ``verifier/errors.py``'s docstring is the project's real tree.

Every subclass of :class:`~verifier.errors.ChipidError` in production code (found by reading the
source, so nothing heavy is imported) appears in the drawing under its real parent, and the
drawing names no class that does not exist.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import verifier.errors

REPO = Path(__file__).resolve().parents[1]
PRODUCTION = ("verifier", "drivers", "biometrics", "sync")


def drawn_tree(doc: str) -> dict[str, str | None]:
    """class name -> parent name, from the box-drawing tree (4 columns per level)."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        m = re.match(r"^ {4}((?:│   |    )*)(?:[├└]── )?([A-Z]\w*)(?:\s|$)", line)
        if not m or (not stack and m.group(2) != "ChipidError"):
            continue
        depth = len(m.group(1)) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        parents[m.group(2)] = stack[-1] if stack else None
        stack.append(m.group(2))
    return parents


def source_tree(roots=tuple(REPO / p for p in PRODUCTION)) -> dict[str, str]:
    """class name -> direct base name, for every class under ``roots`` that descends from ChipidError."""
    bases: dict[str, str] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.ClassDef) and node.bases:
                    base = node.bases[0]
                    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
                    if name:
                        bases[node.name] = name

    def descends(name: str, seen=()) -> bool:
        return name == "ChipidError" or (name in bases and name not in seen and descends(bases[name], (*seen, name)))

    return {name: base for name, base in bases.items() if name != "ChipidError" and descends(base)}


def test_every_error_class_is_drawn_under_its_parent():
    drawn = drawn_tree(verifier.errors.__doc__)
    real = source_tree()
    assert drawn.pop("ChipidError") is None
    assert drawn == real


def test_the_readers_see_both_sides(tmp_path):
    doc = """
    ChipidError
    ├── InputError                  x
    │   └── NotFoundError           y
    └── SyncError
    """
    assert drawn_tree(doc) == {"ChipidError": None, "InputError": "ChipidError", "NotFoundError": "InputError",
                               "SyncError": "ChipidError"}
    (tmp_path / "m.py").write_text("class ChipidError(Exception): pass\nclass SyncError(ChipidError): pass\n"
                                   "class DeliveryError(errors.SyncError): pass\nclass Other(ValueError): pass\n")
    assert source_tree([tmp_path]) == {"SyncError": "ChipidError", "DeliveryError": "SyncError"}
