"""ARCHITECTURE.md "Layers and who may import whom", enforced.

The rules are import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``; run them alone
with ``.venv/bin/lint-imports``). This test checks them on the import graph of the checkout, shows
that each contract breaks when a forbidden import is added, and checks that the protocol core's
list of forbidden libraries names every third-party package the project imports. A second test
keeps private names (``_x``) inside their module in production code.
"""

from __future__ import annotations

import ast
import copy
import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

configuration.configure()  # what the lint-imports command does first (the contracts time their checks)

REPO = Path(__file__).resolve().parents[1]
PRODUCTION = ("verifier", "drivers", "biometrics", "sync")
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACT_TYPES = {"layers": LayersContract, "forbidden": ForbiddenContract}
#: What the protocol core may import besides the standard library (ARCHITECTURE.md).
CORE_ALLOWED = {"Crypto", "cryptography", "asn1crypto"}


def contract(options: dict):
    """The import-linter contract that ``options`` (one ``[[tool.importlinter.contracts]]``) declares."""
    session = {k: v for k, v in CONFIG.items() if k != "contracts"}
    return CONTRACT_TYPES[options["type"]](name=options["name"], session_options=session, contract_options=options)


CONTRACTS = {options["id"]: options for options in CONFIG["contracts"]}


@pytest.fixture(scope="module")
def graph():
    if str(REPO) not in sys.path:  # grimp finds the packages through sys.path
        sys.path.insert(0, str(REPO))
    return grimp.build_graph(*CONFIG["root_packages"], include_external_packages=True, cache_dir=None)


def check(c, g):
    result = c.check(copy.deepcopy(g), verbose=False)
    if not result.kept:
        c.render_broken_contract(result)  # printed: pytest shows it with the failure
    return result


@pytest.mark.parametrize("contract_id", CONTRACTS)
def test_contract_is_kept(contract_id, graph):
    c = contract(CONTRACTS[contract_id])
    result = check(c, graph)
    assert result.kept, f"import-linter contract broken: {c.name} (the chains are printed above)"
    assert not result.warnings


def _violation(contract_id: str) -> tuple[str, str]:
    """One import each contract must refuse."""
    return {
        "layers": ("verifier.icao.tlv", "verifier.ledger.store"),
        "core-libraries": ("verifier.trust.store", "sqlite3"),
        "drivers": ("drivers.pcsc", "verifier.scan"),
        "biometrics": ("biometrics.camera", "sqlite3"),
        "sync": ("sync.relay", "verifier.commands.read"),
    }[contract_id]


@pytest.mark.parametrize("contract_id", CONTRACTS)
def test_contract_breaks_on_a_forbidden_import(contract_id, graph):
    importer, imported = _violation(contract_id)
    g = copy.deepcopy(graph)
    g.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    assert not contract(CONTRACTS[contract_id]).check(g, verbose=False).kept


def test_core_forbids_every_third_party_package_the_project_imports(graph):
    """A new third-party import anywhere makes someone decide whether the protocol core may use it."""
    third_party = {m for m in graph.modules if "." not in m and m not in PRODUCTION
                   and m not in sys.stdlib_module_names and not m.startswith("_")}
    forbidden = set(CONTRACTS["core-libraries"]["forbidden_modules"])
    assert third_party - CORE_ALLOWED - forbidden == set()
    assert {"smartcard", "nfc", "cv2", "fastapi", "sqlite3"} <= forbidden  # the ones ARCHITECTURE.md names


# --- private names --------------------------------------------------------------------------


def private_imports(path: Path) -> list[str]:
    """``from X import _name`` and ``import X._y`` in one file (``__dunder__`` names are public)."""
    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            found += [f"line {node.lineno}: from {module} import {a.name}" for a in node.names if private(a.name)]
            if any(private(part) for part in (node.module or "").split(".")):
                found.append(f"line {node.lineno}: from {module} import ...")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if any(private(part) for part in a.name.split("."))]
    return found


#: Offenders in files others are editing, to be fixed there (the test fails once one is gone, so
#: the list cannot outlive the fix).
KNOWN_PRIVATE_IMPORTS: dict[str, list[str]] = {}


def test_production_code_imports_no_private_name():
    offenders = {}
    for root in PRODUCTION:
        for path in sorted((REPO / root).rglob("*.py")):
            found = [text.split(": ", 1)[1] for text in private_imports(path)]  # without line numbers
            if found:
                offenders[str(path.relative_to(REPO))] = found
    assert offenders == KNOWN_PRIVATE_IMPORTS


def test_the_private_name_check_sees_each_form(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sync.backend.app import _query_from, create_app\nimport verifier._impl\n"
                   "from verifier._impl import thing\nfrom __future__ import annotations\n")
    assert private_imports(bad) == ["line 1: from sync.backend.app import _query_from", "line 2: import verifier._impl",
                                    "line 3: from verifier._impl import ..."]
