"""libpq is loaded only when a postgresql:// ledger is opened (lib/libpq_api.cpp).

The command and the C ABI library do not link it, so an ingest or a status line never maps it;
a missing or wrong libpq fails the PostgreSQL ledger with a message naming the file, spools
nothing, and leaves every other ledger working.
"""
import glob
import json
import os
import shutil
import subprocess

import pytest

# A build with -DTOKENBOOK_LIBPQ_DLOPEN=OFF links libpq: nothing here applies.
pytestmark = pytest.mark.skipif(os.environ.get("TOKENBOOK_LIBPQ_DLOPEN", "ON") == "OFF", reason="built to link libpq")

CLI = os.environ.get("TOKENBOOK_CLI", "tokenbook")
LIBRARY = os.environ.get("TOKENBOOK_LIBRARY")
URL = "postgresql://alice:s3cret@127.0.0.1:1/tokens"
LOG = ["log", "-m", "claude-sonnet-4-5", "--input", "1000", "--output", "10"]


def run(tmp_path, *args, libpq=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENBOOK_")}
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME="", TZ="UTC", NO_COLOR="1")
    if libpq is not None:
        env["TOKENBOOK_LIBPQ"] = str(libpq)
    return subprocess.run([CLI] + [str(a) for a in args], capture_output=True, env=env, cwd=tmp_path, check=False)


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_the_command_and_the_library_do_not_link_libpq():
    binaries = [shutil.which(CLI) or CLI] + ([LIBRARY] if LIBRARY else [])
    for path in binaries:
        libs = needed(path)
        assert libs, path  # readelf read a dynamic section
        assert not [lib for lib in libs if lib.startswith("libpq")], (path, libs)


def test_a_missing_libpq_is_named_and_nothing_is_spooled(tmp_path):
    missing = tmp_path / "nowhere" / "libpq.so.5"
    for args in (["report"], LOG):
        r = run(tmp_path, "--ledger", URL, *args, libpq=missing)
        assert r.returncode != 0, args
        err = r.stderr.decode()
        assert "postgresql://alice@127.0.0.1:1/tokens" in err and "s3cret" not in err, err
        assert f"needs libpq ({missing})" in err and "TOKENBOOK_LIBPQ" in err, err
    # The append failed: nothing went to a spool to be sent later.
    assert not glob.glob(str(tmp_path / "home" / "**" / "spool.jsonl"), recursive=True)

    # Every other ledger works without libpq.
    for ledger in (tmp_path / "jsonl", f"sqlite://{tmp_path / 'ledger.db'}"):
        assert run(tmp_path, "--ledger", ledger, *LOG, libpq=missing).returncode == 0
        r = run(tmp_path, "--ledger", ledger, "report", "--period", "all", "--format", "json", libpq=missing)
        assert r.returncode == 0, r.stderr.decode()
        assert json.loads(r.stdout)["totals"]["cost_micros"] == 3150


def test_a_library_that_is_not_libpq_is_refused(tmp_path):
    libc = next(iter(glob.glob("/lib/*/libc.so.6") + glob.glob("/usr/lib/*/libc.so.6") + glob.glob("/lib*/libc.so.6")),
                None)
    if libc is None:
        pytest.skip("no libc.so.6 to offer as libpq")
    r = run(tmp_path, "--ledger", URL, "report", libpq=libc)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "needs libpq 14 or later" in err and libc in err and "has no PQ" in err, err


def test_TOKENBOOK_LIBPQ_names_the_library_to_load(tmp_path):
    # (That the variable is read at all, the two tests above show: the file
    # they name is the one refused.)
    found = glob.glob("/lib/*/libpq.so.5") + glob.glob("/usr/lib/*/libpq.so.5") + glob.glob("/usr/lib*/libpq.so.5")
    if not found:
        pytest.skip("libpq.so.5 is not installed")
    # Loaded from the named path, libpq itself then answers: nothing listens on port 1.
    r = run(tmp_path, "--ledger", URL, "report", libpq=found[0])
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "postgresql://alice@127.0.0.1:1/tokens: cannot connect" in err and "needs libpq" not in err, err
