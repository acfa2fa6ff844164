"""chat_load against a real chatd: a short fan-out run must deliver every
message to every client exactly once, in id order. No timing assertions:
only the integrity figures chat_load reports on its JSON line."""

import json
import os
import subprocess

import pytest

CHAT_LOAD_BIN = os.environ.get("CHAT_LOAD_BIN")

pytestmark = pytest.mark.skipif(
    not CHAT_LOAD_BIN, reason="set CHAT_LOAD_BIN (absolute path), as `make integration` does"
)


@pytest.fixture
def chatd_port(start_chatd):
    """A chatd (conftest's start_chatd: ephemeral port, stderr drained, clean
    exit checked) with rate limiting off, as under load; yields its port."""
    yield start_chatd("--rate", "0").port


def run_load(*args):
    out = subprocess.run(
        [CHAT_LOAD_BIN, *args, "--json"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_fanout_delivers_every_message_once_in_order(chatd_port):
    r = run_load(
        "fanout", "--port", str(chatd_port), "--clients", "20", "--senders", "3",
        "--duration", "2", "--window", "2",
    )
    assert r["joined"] == 20
    assert r["deliveries_total"] > 0
    assert r["gaps"] == 0
    assert r["duplicates"] == 0
    assert r["errors"] == 0
    assert r["closes"] == 0
    assert r["deliveries_total"] == r["expected_total"] == r["sent_total"] * 20
    assert r["ok"] is True


def test_paced_fanout_delivers_every_message(chatd_port):
    r = run_load(
        "fanout", "--port", str(chatd_port), "--clients", "20", "--senders", "3",
        "--duration", "2", "--rate", "100",
    )
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["errors"] == 0
    assert r["deliveries_total"] == r["sent_total"] * 20
    assert r["sent_total"] > 0


def test_connect_holds_every_connection(chatd_port):
    r = run_load("connect", "--port", str(chatd_port), "--clients", "50", "--join")
    assert r["ready"] == 50
    assert r["held"] == 50
    assert r["connect_failures"] == 0 and r["handshake_failures"] == 0 and r["errors"] == 0


def test_refuses_a_non_loopback_target():
    out = subprocess.run(
        [CHAT_LOAD_BIN, "fanout", "--host", "192.0.2.1", "--port", "9"],
        capture_output=True, text=True, timeout=10,
    )
    assert out.returncode == 2
    assert "non-loopback" in out.stderr
