"""Settings: layering, validation, and read-modify-write of config files."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from once import config
from once.config import KEYS, Settings, load_settings
from once.errors import ConfigError


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def user_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "once" / "config.toml"


def project_file(repo: Path) -> Path:
    return repo / ".once" / "config.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- defaults


def test_defaults_without_any_file(env: dict[str, str], repo: Path) -> None:
    settings = load_settings(repo, env=env)
    assert settings.provider == "anthropic"
    assert settings.model == "claude-sonnet-4-6"
    assert settings.small_model == "claude-haiku-4-5"
    assert settings.base_url is None
    assert settings.max_turns == 50
    assert settings.max_cost is None
    assert settings.dirty == "commit"
    assert settings.command_timeout == 120
    assert settings.max_tokens == 8192
    assert settings.prices == {}
    assert set(settings.sources) == set(KEYS)
    assert set(settings.sources.values()) == {"default"}


def test_settings_dataclass_defaults_match_key_table() -> None:
    settings = Settings()
    for name, key in KEYS.items():
        assert config.get_value(settings, name) == key.default


# ---------------------------------------------------------------- precedence


def test_precedence_user_project_env_flag(env: dict[str, str], repo: Path) -> None:
    write(user_file(env), 'model = "user-model"\nsmall_model = "user-small"\nmax_turns = 10\ndirty = "refuse"\n')
    write(project_file(repo), 'model = "project-model"\nmax_turns = 20\nmax_tokens = 1000\n')
    env = {**env, "ONCE_MAX_TURNS": "30", "ONCE_MAX_TOKENS": "2000"}
    settings = load_settings(repo, env=env, flags={"max_tokens": 3000, "model": None})
    assert (settings.small_model, settings.sources["small_model"]) == ("user-small", "user")
    assert (settings.dirty, settings.sources["dirty"]) == ("refuse", "user")
    assert (settings.model, settings.sources["model"]) == ("project-model", "project")
    assert (settings.max_turns, settings.sources["max_turns"]) == (30, "env")
    assert (settings.max_tokens, settings.sources["max_tokens"]) == (3000, "flag")
    assert (settings.provider, settings.sources["provider"]) == ("anthropic", "default")


def test_project_file_ignored_without_repo(env: dict[str, str], repo: Path) -> None:
    write(project_file(repo), 'model = "project-model"\n')
    assert load_settings(None, env=env).model == "claude-sonnet-4-6"


def test_empty_env_var_means_unset(env: dict[str, str]) -> None:
    settings = load_settings(None, env={**env, "ONCE_MODEL": ""})
    assert settings.sources["model"] == "default"


def test_env_none_unsets_optional_key_from_file(env: dict[str, str]) -> None:
    write(user_file(env), "max_cost = 2.5\n")
    assert load_settings(None, env=env).max_cost == 2.5
    settings = load_settings(None, env={**env, "ONCE_MAX_COST": "none"})
    assert settings.max_cost is None
    assert settings.sources["max_cost"] == "env"


def test_string_flags_are_coerced(env: dict[str, str]) -> None:
    settings = load_settings(None, env=env, flags={"max_turns": "7", "max_cost": "1.5"})
    assert settings.max_turns == 7
    assert settings.max_cost == 1.5


def test_int_is_accepted_for_float_key(env: dict[str, str]) -> None:
    write(user_file(env), "max_cost = 3\n")
    settings = load_settings(None, env=env)
    assert settings.max_cost == 3.0
    assert isinstance(settings.max_cost, float)


def test_prices_merge_field_by_field(env: dict[str, str], repo: Path) -> None:
    write(user_file(env), '[prices."my-model"]\ninput = 1.0\noutput = 5\n')
    write(project_file(repo), '[prices.my-model]\noutput = 4.0\ncache_read = 0.1\n')
    settings = load_settings(repo, env=env)
    assert settings.prices == {"my-model": {"input": 1.0, "output": 4.0, "cache_read": 0.1}}
    assert settings.sources["prices.my-model.input"] == "user"
    assert settings.sources["prices.my-model.output"] == "project"
    assert config.source_of(settings, "prices.my-model") == "project,user"
    assert config.configured_price(settings, "my-model") == {"input": 1.0, "output": 4.0, "cache_read": 0.1}


def test_configured_price_needs_input_and_output(env: dict[str, str]) -> None:
    write(user_file(env), "[prices.half]\ninput = 1.0\n")
    settings = load_settings(None, env=env)
    assert config.configured_price(settings, "half") is None
    assert config.configured_price(settings, "absent") is None


# ---------------------------------------------------------------- errors


def test_malformed_toml_names_the_file(env: dict[str, str]) -> None:
    path = write(user_file(env), "model = \n")
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert str(path) in info.value.message
    assert "TOML" in info.value.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('max_turns = "ten"\n', "expected an integer"),
        ("max_turns = 0\n", "at least 1"),
        ("max_turns = 2.5\n", "expected an integer"),
        ("max_turns = true\n", "expected an integer"),
        ("max_cost = 0\n", "above 0"),
        ('max_cost = "cheap"\n', "expected a number"),
        ('provider = "gemini"\n', "one of anthropic, openai, replay"),
        ('dirty = "stash"\n', "one of commit, refuse"),
        ('model = ""\n', "must not be empty"),
        ("[prices.m]\ninput = -1\n", "non-negative"),
        ('[prices.m]\ninput = "free"\n', "non-negative"),
        ("[prices.m]\nbogus = 1\n", "unknown price field"),
        ("prices = 3\n", "table of models"),
    ],
)
def test_bad_values_in_file(env: dict[str, str], text: str, needle: str) -> None:
    path = write(user_file(env), text)
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert needle in info.value.message
    assert str(path) in info.value.message


def test_unknown_key_in_file_lists_known_keys(env: dict[str, str], repo: Path) -> None:
    path = write(project_file(repo), "max_turn = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(repo, env=env)
    assert str(path) in info.value.message
    assert "'max_turn'" in info.value.message
    assert "did you mean max_turns" in info.value.message
    assert info.value.hint is not None and "max_turns" in info.value.hint and "provider" in info.value.hint


def test_bad_env_value_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={**env, "ONCE_PROVIDER": "gemini"})
    assert "ONCE_PROVIDER" in info.value.message
    assert "anthropic" in info.value.message


def test_bad_flag_value_names_the_flag(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env, flags={"max_turns": 0})
    assert "--max-turns" in info.value.message


def test_unknown_flag_is_a_programming_error(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        load_settings(None, env=env, flags={"nope": 1})


def test_config_error_is_a_usage_error_with_exit_code_2(env: dict[str, str]) -> None:
    write(user_file(env), "[[[")
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert info.value.exit_code == 2


# ---------------------------------------------------------------- get / set / unset


def test_set_get_unset_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    path = user_file(env)
    assert config.set_value(path, "max_turns", "12") == 12
    assert config.set_value(path, "max-cost", " 2.5 ") == 2.5  # CLI spelling and spaces accepted
    assert config.set_value(path, "base_url", "http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    assert tomllib.loads(path.read_text()) == {"max_turns": 12, "max_cost": 2.5,
                                               "base_url": "http://127.0.0.1:8080/v1"}
    settings = load_settings(None, env=env)
    assert config.get_value(settings, "max_turns") == 12
    assert config.source_of(settings, "max_turns") == "user"
    assert config.unset_value(path, "max_turns") is True
    assert config.unset_value(path, "max_turns") is False
    assert config.get_value(load_settings(None, env=env), "max_turns") == 50
    leftovers = [p.name for p in path.parent.iterdir() if p.name != "config.toml"]
    assert leftovers == []  # the atomic write left no temp file behind


def test_set_none_unsets_optional_key(env: dict[str, str]) -> None:
    path = user_file(env)
    config.set_value(path, "max_cost", "4")
    assert config.set_value(path, "max_cost", "none") is None
    assert "max_cost" not in tomllib.loads(path.read_text())
    assert config.set_value(path, "base_url", "") is None


def test_set_rejects_bad_values_without_touching_the_file(env: dict[str, str]) -> None:
    path = write(user_file(env), "max_turns = 5\n")
    before = path.read_bytes()
    for key, raw in [("max_turns", "0"), ("max_turns", "many"), ("provider", "gemini"),
                     ("max_tokens", "none"), ("prices.m.input", "-2"), ("prices.m.input", "cheap")]:
        with pytest.raises(ConfigError):
            config.set_value(path, key, raw)
    assert path.read_bytes() == before


def test_set_unknown_key(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        config.set_value(user_file(env), "colour", "blue")
    assert "'colour'" in info.value.message
    assert not user_file(env).exists()


def test_set_refuses_to_overwrite_a_broken_file(env: dict[str, str]) -> None:
    path = write(user_file(env), "model = = 1\n")
    with pytest.raises(ConfigError) as info:
        config.set_value(path, "max_turns", "3")
    assert str(path) in info.value.message
    assert path.read_text() == "model = = 1\n"


def test_set_keeps_other_keys_and_preserves_file_mode(env: dict[str, str]) -> None:
    path = write(user_file(env), 'model = "m"\n[prices.x]\ninput = 1.0\n')
    path.chmod(0o600)
    config.set_value(path, "dirty", "refuse")
    assert tomllib.loads(path.read_text()) == {"model": "m", "dirty": "refuse", "prices": {"x": {"input": 1.0}}}
    assert path.stat().st_mode & 0o777 == 0o600


def test_prices_dotted_keys(env: dict[str, str]) -> None:
    path = user_file(env)
    assert config.set_value(path, "prices.gpt-4.1.input", "2") == 2.0
    config.set_value(path, "prices.gpt-4.1.output", "8")
    config.set_value(path, "prices.local.cache_read", "0")
    assert tomllib.loads(path.read_text())["prices"] == {
        "gpt-4.1": {"input": 2.0, "output": 8.0}, "local": {"cache_read": 0.0}}
    settings = load_settings(None, env=env)
    assert config.get_value(settings, "prices.gpt-4.1.output") == 8.0
    assert config.get_value(settings, "prices.gpt-4.1") == {"input": 2.0, "output": 8.0}
    assert config.get_value(settings, "prices.missing.input") is None
    assert config.source_of(settings, "prices.gpt-4.1.input") == "user"
    assert config.unset_value(path, "prices.gpt-4.1.input") is True
    assert config.unset_value(path, "prices.local.cache_read") is True  # empty model table goes too
    assert tomllib.loads(path.read_text()) == {"prices": {"gpt-4.1": {"output": 8.0}}}
    assert config.unset_value(path, "prices.gpt-4.1") is True
    assert tomllib.loads(path.read_text()) == {}


@pytest.mark.parametrize("key", ["prices", "prices.m", "prices.", "prices.m.bogus"])
def test_prices_set_needs_a_model_and_field(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError):
        config.set_value(user_file(env), key, "1")


def test_get_unknown_key(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        config.get_value(load_settings(None, env=env), "modle")
    assert "did you mean model" in info.value.message


def test_settings_rows_cover_every_key_and_price(env: dict[str, str]) -> None:
    write(user_file(env), "[prices.m]\ninput = 1.5\n")
    rows = config.settings_rows(load_settings(None, env=env))
    assert [row["key"] for row in rows] == [*KEYS, "prices.m.input"]
    assert all(row["help"] for row in rows)
    assert rows[-1]["value"] == 1.5 and rows[-1]["source"] == "user"


# ---------------------------------------------------------------- paths


def test_config_path_scopes(env: dict[str, str], repo: Path) -> None:
    assert config.config_path("user", None, env) == user_file(env)
    assert config.config_path("project", repo, env) == project_file(repo)
    with pytest.raises(ConfigError) as info:
        config.config_path("project", None, env)
    assert "git repository" in info.value.message
    with pytest.raises(ConfigError):
        config.config_path("system", repo, env)


def test_find_repo_root_walks_up(repo: Path, tmp_path: Path) -> None:
    deep = repo / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find_repo_root(deep) == repo.resolve()
    outside = tmp_path / "plain"
    outside.mkdir()
    found = config.find_repo_root(outside)
    assert found is None or not str(found).startswith(str(tmp_path.resolve()))


def test_import_stays_light() -> None:
    code = "import sys, once.config; print(any(m in sys.modules for m in ('typer', 'rich', 'tomli_w')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- [verify], max_files, context_budget


def test_new_keys_defaults(env: dict[str, str]) -> None:
    settings = load_settings(None, env=env)
    assert settings.max_files == 8
    assert settings.context_budget == 120_000
    assert settings.verify == config.VerifySettings(None, None, 3, "turn", 600)


def test_verify_table_in_toml_layers_with_env_and_flags(env: dict[str, str], repo: Path) -> None:
    write(user_file(env), '[verify]\ntest_command = "pytest -q"\nmax_retries = 1\ntimeout = 30\n')
    write(project_file(repo), '[verify]\nlint_command = "ruff check ."\nmax_retries = 5\n')
    env = {**env, "ONCE_VERIFY_WHEN": "end", "ONCE_VERIFY_TIMEOUT": "90"}
    settings = load_settings(repo, env=env, flags={"verify.max_retries": 0})
    assert settings.verify == config.VerifySettings("pytest -q", "ruff check .", 0, "end", 90)
    assert settings.sources["verify.test_command"] == "user"
    assert settings.sources["verify.lint_command"] == "project"  # a project may name its own checks
    assert settings.sources["verify.when"] == "env"
    assert settings.sources["verify.max_retries"] == "flag"
    assert config.get_value(settings, "verify.timeout") == 90
    assert config.source_of(settings, "verify.timeout") == "env"


def test_max_files_and_context_budget_from_file_and_env(env: dict[str, str]) -> None:
    write(user_file(env), "max_files = 3\ncontext_budget = 50000\n")
    settings = load_settings(None, env={**env, "ONCE_CONTEXT_BUDGET": "64000"})
    assert (settings.max_files, settings.sources["max_files"]) == (3, "user")
    assert (settings.context_budget, settings.sources["context_budget"]) == (64000, "env")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[verify]\nwhen = "always"\n', "one of turn, end, off"),
        ("[verify]\nmax_retries = -1\n", "at least 0"),
        ('[verify]\nmax_retries = "3"\n', "expected an integer"),
        ("[verify]\ntimeout = 0\n", "at least 1"),
        ('[verify]\ntest_command = ""\n', "must not be empty"),
        ('[verify]\ntest_comand = "x"\n', "did you mean verify.test_command"),
        ('verify = "pytest"\n', "must be a table"),
        ("max_files = 0\n", "at least 1"),
        ("context_budget = 0\n", "at least 1"),
    ],
)
def test_bad_new_values_in_file(env: dict[str, str], text: str, needle: str) -> None:
    path = write(user_file(env), text)
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert needle in info.value.message
    assert str(path) in info.value.message


def test_bad_verify_env_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={**env, "ONCE_VERIFY_WHEN": "sometimes"})
    assert "ONCE_VERIFY_WHEN" in info.value.message
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={**env, "ONCE_VERIFY_MAX_RETRIES": "-2"})
    assert "at least 0" in info.value.message


def test_set_and_unset_verify_keys_write_a_table(env: dict[str, str]) -> None:
    path = user_file(env)
    assert config.set_value(path, "verify.test_command", "pytest -q") == "pytest -q"
    assert config.set_value(path, "verify.max-retries", "2") == 2  # dashes accepted like other keys
    assert config.set_value(path, "model", "m") == "m"
    assert tomllib.loads(path.read_text()) == {"model": "m", "verify": {"test_command": "pytest -q", "max_retries": 2}}
    assert "[verify]" in path.read_text()
    settings = load_settings(None, env=env)
    assert settings.verify.test_command == "pytest -q" and settings.verify.max_retries == 2
    with pytest.raises(ConfigError):
        config.set_value(path, "verify.when", "never")
    assert config.set_value(path, "verify.test_command", "none") is None
    assert config.unset_value(path, "verify.max_retries") is True
    assert config.unset_value(path, "verify.max_retries") is False
    assert tomllib.loads(path.read_text()) == {"model": "m"}  # the emptied table is gone


def test_the_table_name_alone_is_not_a_key(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        config.canonical_key("verify")
    assert "table" in info.value.message
    assert info.value.hint is not None and "verify.test_command" in info.value.hint


# ---------------------------------------------------------------- [policy]: lists of command rules


def test_policy_lists_from_toml(env: dict[str, str]) -> None:
    write(user_file(env), '[policy]\nallow = ["pytest*", "npm test", "git status"]\ndeny = ["git push*", "rm -rf*"]\n')
    settings = load_settings(None, env=env)
    assert settings.policy == config.PolicySettings(("pytest*", "npm test", "git status"), ("git push*", "rm -rf*"))
    assert settings.sources["policy.allow"] == "user"
    assert config.get_value(settings, "policy.deny") == ("git push*", "rm -rf*")


def test_policy_defaults_are_empty(env: dict[str, str]) -> None:
    assert load_settings(None, env=env).policy == config.PolicySettings((), ())


def test_policy_allow_from_env_replaces_the_file(env: dict[str, str]) -> None:
    write(user_file(env), '[policy]\nallow = ["make"]\n')
    settings = load_settings(None, env={**env, "ONCE_POLICY_ALLOW": " pytest* , npm test,, "})
    assert (settings.policy.allow, settings.sources["policy.allow"]) == (("pytest*", "npm test"), "env")
    settings = load_settings(None, env={**env, "ONCE_POLICY_ALLOW": '["echo a,b", "ls"]'})
    assert settings.policy.allow == ("echo a,b", "ls")  # JSON for entries holding commas
    assert load_settings(None, env={**env, "ONCE_POLICY_ALLOW": "none"}).policy.allow == ()


def test_policy_flags_take_lists_or_text(env: dict[str, str]) -> None:
    assert load_settings(None, env=env, flags={"policy.allow": ("ls",)}).policy.allow == ("ls",)
    assert load_settings(None, env=env, flags={"policy.allow": "ls,make"}).policy.allow == ("ls", "make")


def test_a_project_cannot_allow_commands(env: dict[str, str], repo: Path) -> None:
    path = write(project_file(repo), '[policy]\nallow = ["curl*"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(repo, env=env)
    assert "policy.allow cannot be set in a project's config" in info.value.message
    assert str(path) in info.value.message
    with pytest.raises(ConfigError):
        config.check_scope("policy.allow", "project")


def test_deny_lists_add_up_across_layers(env: dict[str, str], repo: Path) -> None:
    write(user_file(env), '[policy]\ndeny = ["git push*"]\n')
    write(project_file(repo), '[policy]\ndeny = ["curl*", "git push*"]\n')
    settings = load_settings(repo, env={**env, "ONCE_POLICY_DENY": "rm -rf*"})
    assert settings.policy.deny == ("git push*", "curl*", "rm -rf*")
    assert config.source_of(settings, "policy.deny") == "user,project,env"
    write(project_file(repo), "[policy]\ndeny = []\n")  # a repository cannot lift the user's denials
    assert load_settings(repo, env=env).policy.deny == ("git push*",)


@pytest.mark.parametrize(("text", "needle"), [
    ('[policy]\nallow = "pytest"\n', "expected a list of strings"),
    ("[policy]\nallow = [1]\n", "is not a string"),
    ('[policy]\ndeny = ["ok", " "]\n', "an entry is empty"),
    ('[policy]\nallw = ["x"]\n', "did you mean policy.allow"),
    ('policy = ["x"]\n', "must be a table"),
])
def test_bad_policy_values_in_file(env: dict[str, str], text: str, needle: str) -> None:
    path = write(user_file(env), text)
    with pytest.raises(ConfigError) as info:
        load_settings(None, env=env)
    assert needle in info.value.message
    assert str(path) in info.value.message


def test_bad_policy_env_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env={**env, "ONCE_POLICY_DENY": '["unclosed"'})
    assert "ONCE_POLICY_DENY" in info.value.message and "JSON list" in info.value.message


def test_set_policy_lists_from_the_command_line(env: dict[str, str]) -> None:
    path = user_file(env)
    assert config.set_value(path, "policy.allow", "pytest*,npm test") == ("pytest*", "npm test")
    assert config.set_value(path, "policy.deny", '["git push*", "echo a,b"]') == ("git push*", "echo a,b")
    assert tomllib.loads(path.read_text()) == {"policy": {"allow": ["pytest*", "npm test"],
                                                          "deny": ["git push*", "echo a,b"]}}
    assert "[policy]" in path.read_text()
    settings = load_settings(None, env=env)
    assert settings.policy.allow == ("pytest*", "npm test")
    assert config.set_value(path, "policy.allow", "none") == ()
    assert tomllib.loads(path.read_text())["policy"]["allow"] == []
    assert config.unset_value(path, "policy.allow") is True
    assert config.unset_value(path, "policy.deny") is True
    assert tomllib.loads(path.read_text()) == {}
    with pytest.raises(ConfigError):
        config.set_value(path, "policy.allow", "[1, 2]")


def test_policy_rows_in_config_list(env: dict[str, str]) -> None:
    write(user_file(env), '[policy]\nallow = ["ls"]\n')
    rows = {row["key"]: row for row in config.settings_rows(load_settings(None, env=env))}
    assert rows["policy.allow"]["value"] == ("ls",)
    assert rows["policy.allow"]["env"] == "ONCE_POLICY_ALLOW"
    assert "comma-separated" in rows["policy.allow"]["allowed"]
    assert rows["policy.deny"]["value"] == () and rows["policy.deny"]["source"] == "default"


def test_list_to_text_round_trips() -> None:
    from once.config_schema import list_to_text, split_list_text

    for items in [["pytest*", "npm test"], ["echo a,b", "ls"], []]:
        assert split_list_text(list_to_text(items)) == items


@pytest.mark.parametrize("text", ['sandbox = "off"\n', "sandbox_network = true\n"])
def test_a_project_cannot_let_commands_out_of_the_sandbox(env: dict[str, str], repo: Path, text: str) -> None:
    """A command inside the sandbox can write `.once/config.toml`: were the sandbox a project
    setting, it could switch it off for every later run."""
    write(project_file(repo), text)
    with pytest.raises(ConfigError) as info:
        load_settings(repo, env=env)
    assert "cannot be set in a project's config" in info.value.message and "sandbox" in info.value.message
    write(project_file(repo), "")
    assert load_settings(repo, env={**env, "ONCE_SANDBOX": "off"}).sandbox == "off"  # the user still may
