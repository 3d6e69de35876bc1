"""Settings are declared once: config.toml is their template, README.md documents each key."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.config import SETTINGS, Config, load_config, template
from verifier.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_config_toml_is_the_generated_template():
    assert (REPO / "config.toml").read_text(encoding="utf-8") == template(), (
        "config.toml is stale: regenerate it with `.venv/bin/python -m verifier.config > config.toml`"
    )


def test_readme_documents_every_setting():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.key for s in SETTINGS if f"`{s.key}`" not in readme]
    assert missing == [], f"settings missing from README.md: {missing}"


def test_config_toml_loads_to_the_defaults():
    cfg = load_config(REPO / "config.toml")
    for s in SETTINGS:
        assert cfg[s.key] == s.default


def test_secrets_are_never_inline():
    for s in SETTINGS:
        lowered = s.name.lower()
        if any(word in lowered for word in ("password", "secret", "token", "private")):
            assert s.name.endswith("_env") or s.name.endswith("_file"), f"{s.key} looks like a secret written inline"


def test_unknown_key_and_wrong_type_are_refused(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[service]\nprot = 8080\n')
    with pytest.raises(ConfigError, match="unknown setting 'service.prot'"):
        load_config(bad)
    bad.write_text('[service]\nport = "eighty"\n')
    with pytest.raises(ConfigError, match="expected int, found str"):
        load_config(bad)
    bad.write_text("[service\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_overrides_are_typed():
    cfg = Config().with_overrides(service__port=9000)
    assert cfg["service.port"] == 9000
    with pytest.raises(ConfigError):
        Config().with_overrides(service__port="x")
