"""End-to-end tests of `tokenbook price` and `tokenbook rates` through the real binary."""
import json
import os
import subprocess

import pytest

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")


def run(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=full_env, check=False)


def price_json(*args):
    result = run("price", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sonnet_4_request_is_priced_exactly():
    doc = price_json("--model", "claude-sonnet-4", "--input", "12000", "--output", "4500",
                     "--cache-read", "8000", "--cache-write-5m", "3000")
    assert doc["cost_micros"] == 117150
    assert doc["cost_usd"] == "0.117150"
    assert doc["model"] == "claude-sonnet-4"
    breakdown = doc["breakdown"]
    assert breakdown["input"]["cost_micros"] == 36000
    assert breakdown["output"]["cost_micros"] == 67500
    assert breakdown["cache_read"]["cost_micros"] == 2400
    assert breakdown["cache_write_5m"]["cost_micros"] == 11250
    assert sum(line["cost_micros"] for line in breakdown.values()) == doc["cost_micros"]


def test_cache_write_is_the_5_minute_write():
    a = price_json("--model", "claude-opus-4", "--input", "12000", "--output", "4500",
                   "--cache-read", "8000", "--cache-write", "3000")
    assert a["cost_micros"] == 585750


def test_provider_spellings_resolve_to_the_same_model():
    doc = price_json("--model", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                     "--input", "120000", "--output", "35000")
    assert doc["model"] == "claude-sonnet-4-5"
    assert doc["match"] != "exact"
    assert doc["cost_micros"] == 885000


def test_long_context_tier_applies_to_the_whole_request():
    under = price_json("--model", "claude-sonnet-4-5", "--input", "200000", "--output", "1000")
    over = price_json("--model", "claude-sonnet-4-5", "--input", "200001", "--output", "1000")
    assert under["long_context_tier"] is None
    assert under["cost_micros"] == 200000 * 3 + 1000 * 15
    assert over["long_context_tier"]["above_tokens"] == 200000
    assert over["cost_micros"] == 200001 * 6 + 1000 * 45 // 2


def test_batch_tier_halves_the_cost():
    standard = price_json("--model", "claude-sonnet-4-5", "--input", "1000", "--output", "1000")
    batch = price_json("--model", "claude-sonnet-4-5", "--input", "1000", "--output", "1000",
                       "--service-tier", "batch")
    assert batch["service_tier"] == "batch"
    assert batch["cost_micros"] * 2 == standard["cost_micros"]


def test_unknown_model_exits_3_and_names_the_closest_ids():
    result = run("price", "--model", "claude-sonet-4-5", "--input", "10")
    assert result.returncode == 3
    assert "unknown model" in result.stderr
    assert "claude-sonnet-4-5" in result.stderr


def test_unknown_model_json_lists_the_closest_ids():
    result = run("price", "--model", "gpt-5.4-mini", "--input", "10", "--json")
    assert result.returncode == 3
    doc = json.loads(result.stdout)
    assert doc["error"] == "unknown_model"
    assert doc["closest"]


@pytest.mark.parametrize("flag", ["--input", "--output", "--cache-read", "--requests"])
def test_negative_counts_are_usage_errors(flag):
    result = run("price", "--model", "gpt-5", flag, "-5")
    assert result.returncode == 64
    assert flag in result.stderr


def test_non_numeric_count_is_a_usage_error():
    result = run("price", "--model", "gpt-5", "--input", "12k")
    assert result.returncode == 64


def test_unknown_service_tier_is_a_usage_error():
    result = run("price", "--model", "gpt-5", "--input", "10", "--service-tier", "turbo")
    assert result.returncode == 64
    assert "flex" in result.stderr


def test_text_output_has_no_colour_when_piped():
    result = run("price", "--model", "gpt-5", "--input", "1000000", "--output", "100000")
    assert result.returncode == 0
    assert "\033[" not in result.stdout
    assert "$2.250000" in result.stdout


def test_user_rate_table_layers_over_the_builtin(tmp_path):
    table = tmp_path / "rates.toml"
    table.write_text('schema = 1\nas_of = "2026-11-20"\n\n[[models]]\nid = "claude-sonnet-4-5"\n'
                     'provider = "anthropic"\ninput = "2"\noutput = "10"\n')
    doc = price_json("--rates", str(table), "--model", "claude-sonnet-4-5",
                     "--input", "1000000", "--output", "1000000")
    assert doc["cost_micros"] == 12_000_000
    assert doc["rates_as_of"] == "2026-11-20"
    other = price_json("--rates", str(table), "--model", "gpt-5", "--input", "1000000")
    assert other["cost_micros"] == 1_250_000


def test_malformed_rate_table_names_file_and_line(tmp_path):
    table = tmp_path / "bad.toml"
    table.write_text('schema = 1\nas_of = "2026-11-20"\n[[models]]\nid = "x"\ninput = = 3\n')
    result = run("--rates", str(table), "price", "--model", "x", "--input", "1")
    assert result.returncode == 65
    assert "bad.toml:5" in result.stderr


def test_litellm_database_can_be_layered():
    path = os.path.join(os.path.dirname(__file__), "..", "data", "litellm_model_prices.json")
    doc = price_json("--rates", path, "--model", "deepseek/deepseek-chat", "--input", "1000000")
    assert doc["cost_micros"] > 0
    assert doc["provider"] == "deepseek"


def test_rates_list_json_has_every_builtin_model():
    result = run("rates", "list", "--json")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    ids = {m["id"] for m in doc["models"]}
    for model in ["claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5", "gpt-4.1",
                  "o4-mini", "gemini-2.5-pro", "gemini-2.5-flash"]:
        assert model in ids
    assert doc["count"] == len(doc["models"])


def test_rates_show_resolves_any_spelling():
    result = run("rates", "show", "anthropic/claude-opus-4.5", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["id"] == "claude-opus-4-5"
    assert doc["rates"]["output"]["micros_per_mtok"] == 25_000_000


def test_help_on_every_command():
    for args in (["--help"], ["price", "--help"], ["rates", "list", "--help"], ["rates", "show", "--help"]):
        result = run(*args)
        assert result.returncode == 0
        assert "Usage" in result.stdout or "usage" in result.stdout.lower()
