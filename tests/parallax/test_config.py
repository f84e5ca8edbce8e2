"""parallax.toml: defaults without a file, values with one, one clear line when wrong."""

from __future__ import annotations

import pytest

from parallax.config import Config, RouteRule, load_config
from parallax.errors import ConfigError


def test_defaults_without_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARALLAX_CONFIG", raising=False)
    assert load_config() == Config()


def test_values_from_file(tmp_path) -> None:
    f = tmp_path / "parallax.toml"
    f.write_text(
        '[privacy]\nkey_file = "k.key"\n'
        "[routes]\nrules = [{ match = '^/p/[^/]+$', route = \"/p/{slug}\" }]\n"
        "[ingest]\nmax_reject_rate = 0.05\n"
        '[analytics]\nsession_param = "sid"\n'
    )
    cfg = load_config(f)
    assert cfg.key_file == tmp_path / "k.key"
    assert cfg.route_rules == (RouteRule("^/p/[^/]+$", "/p/{slug}"),)
    assert (cfg.max_reject_rate, cfg.session_param) == (0.05, "sid")
    assert (cfg.route_templates, cfg.route_learn) == ((), True)


def test_route_templates_and_learning(tmp_path) -> None:
    f = tmp_path / "parallax.toml"
    f.write_text('[routes]\ntemplates = ["/category/:slug", "/docs/[...path]"]\nlearn = false\n')
    cfg = load_config(f)
    assert (cfg.route_templates, cfg.route_learn) == (("/category/:slug", "/docs/[...path]"),
                                                      False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ingest\n", "cannot read config"),
        ("[ingest]\nmax_reject_rate = 2\n", "between 0 and 1"),
        ("[ingest]\nmax_reject_rate = 'x'\n", "invalid setting"),
        ("[routes]\nrules = [{ route = '/x' }]\n", "invalid setting"),
        ("[routes]\ntemplates = '/a/{x}'\n", "templates must be a list of strings"),
        ("[routes]\ntemplates = ['category/{slug}']\n", "is not a path template"),
        ("[routes]\nlearn = 'no'\n", "learn must be true or false"),
    ],
)
def test_bad_config_is_one_line(tmp_path, text, message) -> None:
    f = tmp_path / "parallax.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_explicit_missing_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_section_settings_converts_by_field_type_and_names_the_section() -> None:
    from dataclasses import dataclass

    from parallax.config import section_settings

    @dataclass(frozen=True)
    class S:
        n: int = 1
        x: float = 0.5
        names: tuple[str, ...] = ()

    assert section_settings(S, {"n": "3", "x": 2, "names": ["a"]}, "[s]") == S(3, 2.0, ("a",))
    assert section_settings(S, {"n": 4}, "[s]", strict=True) == S(4)
    for data, strict, words in (({"m": 1}, False, r"\[s\]: unknown setting\(s\) m"),
                                ({"n": "x"}, False, r"\[s\]: invalid literal"),
                                ({"n": "3"}, True, r"\[s\]: n must be a whole number, got '3'"),
                                ({"n": True}, True, "n must be a whole number"),
                                ({"names": "a"}, False, r"\[s\]: names must be a list of strings")):
        with pytest.raises(ConfigError, match=words):
            section_settings(S, data, "[s]", strict=strict)
