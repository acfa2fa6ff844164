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


def test_fanout_over_rooms_checks_each_room(chatd_port):
    r = run_load(
        "fanout", "--port", str(chatd_port), "--clients", "12", "--senders", "3",
        "--rooms", "3", "--duration", "1", "--window", "2",
    )
    assert r["rooms"] == 3 and r["joined"] == 12
    assert r["sent_total"] > 0
    # Each message reaches the 4 members of its own room, not all 12.
    assert r["deliveries_total"] == r["expected_total"] == r["sent_total"] * 4
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["errors"] == 0
    assert r["wrong_room"] == 0 and r["mismatches"] == 0
    assert r["ok"] is True


def test_fanout_rooms_need_a_sender_each(chatd_port):
    out = subprocess.run(
        [CHAT_LOAD_BIN, "fanout", "--port", str(chatd_port), "--rooms", "4", "--senders", "3"],
        capture_output=True, text=True, timeout=10,
    )
    assert out.returncode == 2
    assert "--senders" in out.stderr


@pytest.mark.parametrize("how", ["rst", "fin", "all"])
def test_resume_continues_every_id_after_an_abrupt_drop(chatd_port, how):
    r = run_load(
        "resume", "--port", str(chatd_port), "--clients", "12", "--rooms", "3",
        "--drop", "6", "--messages", "10", "--leave", how,
    )
    assert r["dropped"] == 6 and r["caught_up"] == 6
    assert r["not_resumed"] == 0 and r["epoch_changed"] == 0
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["short_replays"] == 0
    assert r["errors"] == 0 and r["closes"] == 0 and r["setup_failures"] == 0
    # Each missed its room's 10 messages and at least its own leave; the
    # replay also holds the rejoins that came before its own.
    assert r["missed"] >= 6 * 11
    assert r["replayed"] >= r["missed"]
    assert r["ok"] is True


def test_resume_in_one_room(chatd_port):
    r = run_load("resume", "--port", str(chatd_port), "--clients", "8", "--messages", "5")
    assert r["rooms"] == 1 and r["dropped"] == 7 and r["caught_up"] == 7
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["not_resumed"] == 0
    assert r["ok"] is True


def test_resume_reports_a_replay_cut_short(start_chatd):
    # With --max-replay 3 the server replays 3 of the 12 missed events (10
    # messages, 2 leaves): the ids jump, and chat_load must say so.
    port = start_chatd("--rate", "0", "--max-replay", "3").port
    r = run_load(
        "resume", "--port", str(port), "--clients", "4", "--drop", "2", "--messages", "10",
    )
    assert r["replayed"] == 2 * 3
    assert r["short_replays"] == 2
    assert r["gaps"] > 0
    assert r["ok"] is False


def test_connect_joins_several_rooms_per_connection(chatd_port):
    r = run_load(
        "connect", "--port", str(chatd_port), "--clients", "20", "--rooms-per-conn", "5",
        "--rooms", "10",
    )
    assert r["ready"] == 20 and r["held"] == 20
    assert r["memberships"] == 100 and r["rooms_per_conn"] == 5
    assert r["errors"] == 0 and r["ok"] is True


def test_connect_over_the_room_limit_fails(start_chatd):
    port = start_chatd("--rate", "0", "--max-rooms-per-conn", "4").port
    r = run_load(
        "connect", "--port", str(port), "--clients", "3", "--rooms-per-conn", "5",
        "--rooms", "5",
    )
    assert r["errors"] == 3  # one room_limit per connection
    assert r["ready"] == 0 and r["ok"] is False
