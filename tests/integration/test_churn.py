"""chat_load churn against a real chatd: clients join and leave at random
(close frame, RST, FIN, read stall) while others chat. Every session must see
consecutive ids from its own join event on, every session must produce one
join and one leave event, and when all have left the server's gauges are back
at rest. No timing assertions: only the integrity figures chat_load reports
and the server's /metrics."""

import json
import os
import subprocess
import time

import pytest
from helpers import get

CHAT_LOAD_BIN = os.environ.get("CHAT_LOAD_BIN")

pytestmark = pytest.mark.skipif(
    not CHAT_LOAD_BIN, reason="set CHAT_LOAD_BIN (absolute path), as `make integration` does"
)

# chatd notices the last closes on its next loop turn; the poll is bounded.
METRICS_WAIT = 10.0


def metrics(port):
    body = get(port, b"/metrics").body.decode()
    return {
        name: float(value)
        for name, value in (line.split() for line in body.splitlines() if line and not line.startswith("#"))
    }


def at_rest(port):
    """Polls /metrics (bounded) until no WebSocket is open; returns the last
    figures. The /metrics request itself is the one connection open."""
    deadline = time.monotonic() + METRICS_WAIT
    while True:
        m = metrics(port)
        rest = m["chatd_connections_open"] == 1 and m["chatd_websockets_open"] == 0
        if rest and m["chatd_joined_users"] == 0 or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_churn_keeps_every_sequence_whole_and_the_server_at_rest(start_chatd):
    srv = start_chatd()
    out = subprocess.run(
        [CHAT_LOAD_BIN, "churn", "--port", str(srv.port), "--clients", "30", "--duration", "3",
         "--hold", "1", "--json"],
        capture_output=True, text=True, timeout=90,
    )
    assert out.returncode in (0, 1), out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["sessions_joined"] > 30  # slots came back for more than one session
    assert r["sent"] > 0 and r["deliveries"] > 0
    for way in ("leave_close", "leave_rst", "leave_fin", "leave_stall"):
        assert r[way] > 0, (way, r)
    assert r["gaps"] == 0, r
    assert r["duplicates"] == 0, r
    assert r["first_event_mismatch"] == 0 and r["order_mismatch"] == 0, r
    assert r["leave_mismatch"] == 0 and r["join_events_missing"] == 0, r
    assert r["lost_acks"] == 0 and r["errors"] == 0 and r["unexpected_closes"] == 0, r
    assert r["setup_failures"] == 0 and r["setup_timeouts"] == 0 and r["close_timeouts"] == 0, r
    assert r["all_left"] is True and r["observer_lost"] is False
    assert r["ok"] is True
    m = at_rest(srv.port)
    assert m["chatd_connections_open"] == 1, m  # this /metrics request
    assert m["chatd_websockets_open"] == 0, m
    assert m["chatd_joined_users"] == 0, m
    assert m["chatd_slow_consumers_dropped_total"] == 0, m
    assert m["chatd_protocol_errors_total"] == 0, m
