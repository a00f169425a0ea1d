"""The shell hook of examples/hooks/log-session.sh, run for real against a throwaway ledger."""
import json
import os
import pathlib
import subprocess

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
HOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "hooks" / "log-session.sh"
ARGS = ["--model", "claude-sonnet-4-5", "--input", "12000", "--output", "4500",
        "--session", "s-1", "--agent", "reviewer"]


def run_hook(tmp_path, *args, strict=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENBOOK_")}
    env.update({"TOKENBOOK": CLI, "HOME": str(tmp_path)})
    if strict:
        env["TOKENBOOK_HOOK_STRICT"] = "1"
    return subprocess.run(["bash", str(HOOK), *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False)


def test_hook_logs_and_passes_a_warning(tmp_path):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "config.toml").write_text('[budgets]\nmonthly = "0.12"\n')
    result = run_hook(tmp_path, "--ledger", str(ledger), "--check-budget", *ARGS)
    # $0.1035 of $0.12 is 86.25%, shown half-even as 86.2%: logged, and the warning is reported without stopping the host.
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Entry logged: $0.10\nBudget: $0.10 / $0.12 (86.2%) [warning]\n"
    assert "budget warning" in result.stderr
    [entry] = [json.loads(l) for l in (ledger / "ledger.jsonl").read_text().splitlines()]
    assert (entry["cost_micros"], entry["session"], entry["agent"]) == (103500, "s-1", "reviewer")


def test_hook_exits_2_when_the_budget_is_exceeded(tmp_path):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "config.toml").write_text('[budgets]\nmonthly = "0.10"\n')
    result = run_hook(tmp_path, "--ledger", str(ledger), "--check-budget", *ARGS)
    assert result.returncode == 2
    assert "critical or exceeded" in result.stderr


def test_hook_never_breaks_its_host_unless_strict(tmp_path):
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "ledger.jsonl").mkdir()  # cannot be appended to
    lenient = run_hook(tmp_path, "--ledger", str(ledger), *ARGS)
    assert lenient.returncode == 0 and "nothing logged" in lenient.stderr
    strict = run_hook(tmp_path, "--ledger", str(ledger), *ARGS, strict=True)
    assert strict.returncode == 1
