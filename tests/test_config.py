"""Configuration: typed sections, clear errors, environment overrides, documented keys."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bot import config as cfg

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads_and_documents_every_key():
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    loaded = cfg.load(ROOT / "config.example.toml", environ={})
    for section in dataclasses.fields(cfg.Config):
        if section.name == "source":
            continue
        names = {f.name for f in dataclasses.fields(getattr(loaded, section.name))}
        assert section.name in example, f"[{section.name}] missing from config.example.toml"
        assert names == set(example[section.name]), f"[{section.name}] keys differ"


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[zalo]\napp_idd = "1"\n', encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match=r"bot\.toml: unknown key 'zalo\.app_idd'"):
        cfg.load(path, environ={})


def test_unknown_section_is_an_error(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[zallo]\n", encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match="unknown section 'zallo'"):
        cfg.load(path, environ={})


def test_wrong_type_is_an_error(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[storage]\nretention_days = "ninety"\n', encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match="'storage.retention_days' must be int"):
        cfg.load(path, environ={})


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[zalo\n", encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match="bot.toml"):
        cfg.load(path, environ={})


def test_no_file_gives_defaults_but_a_named_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cfg.load(environ={}).zalo.api_base_url == "https://openapi.zalo.me"
    with pytest.raises(cfg.ConfigError, match="not found"):
        cfg.load(environ={"BOT_CONFIG": str(tmp_path / "missing.toml")})


def test_secrets_come_from_the_environment(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[zalo]\noa_secret_key = "from-file"\n', encoding="utf-8")
    loaded = cfg.load(path, environ={"ZALO_OA_SECRET_KEY": "from-env"})
    assert loaded.zalo.oa_secret_key == "from-env"


def test_require_names_missing_keys():
    with pytest.raises(cfg.ConfigError, match="zalo.app_id, zalo.oa_secret_key"):
        cfg.require(cfg.Config(), "zalo.app_id", "zalo.oa_secret_key")
