"""`scripts/loadtest.sh --peers` (what `make bench-compare` runs) in a tiny
configuration: chatd, floor and every peer of bench/peers each deliver
every event of every scenario (chat_load's checks: no gap, no duplicate,
deliveries == sent x clients, every connection up), and the table and the
chart come out. No timing assertions: the figures belong in BENCHMARKS.md."""

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from conftest import CHATD_BIN, CLEAN_ENV, REPO

CHAT_LOAD_BIN = os.environ.get("CHAT_LOAD_BIN")
FLOOR_BIN = os.environ.get("FLOOR_BIN")
SERVERS = ["chatd", "floor", "node-ws", "node-ws-redis", "python-websockets"]
CLIENTS = 200

pytestmark = pytest.mark.skipif(
    not (CHAT_LOAD_BIN and FLOOR_BIN),
    reason="set CHAT_LOAD_BIN and FLOOR_BIN (absolute paths), as `make integration` does",
)


def free_port_pair():
    """A loopback port p with p + 1 free too (the script puts Redis there)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            if p >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", p + 1))
                except OSError:
                    continue
            return p
    pytest.fail("no free pair of loopback ports")


@pytest.fixture(scope="module")
def compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    env = dict(CLEAN_ENV, CHATD=CHATD_BIN, CHAT_LOAD=CHAT_LOAD_BIN, FLOOR=FLOOR_BIN)
    proc = subprocess.run(
        [str(REPO / "scripts/loadtest.sh"), "--peers", "--runs", "1", "--clients", str(CLIENTS),
         "--duration", "1", "--connections", str(CLIENTS), "--out", str(out),
         "--port", str(free_port_pair())],
        capture_output=True, text=True, timeout=600, env=env, cwd=str(REPO),
    )
    rows = []
    if (out / "compare.jsonl").exists():
        rows = [json.loads(l) for l in (out / "compare.jsonl").read_text().splitlines() if l.strip()]
    return proc, out, rows


def test_every_server_ran_every_scenario(compare):
    proc, _, rows = compare
    assert proc.returncode == 0, proc.stderr[-4000:]
    scenarios = {r["scenario"] for r in rows}
    assert len(scenarios) == 6
    for scn in scenarios:
        assert sorted(r["server"] for r in rows if r["scenario"] == scn) == sorted(SERVERS)


def test_every_server_delivered_every_event(compare):
    _, _, rows = compare
    assert rows
    for r in rows:
        res, who = r["result"], f"{r['scenario']} {r['server']}"
        assert res.get("ok") is True, f"{who}: {res}"
        if res["mode"] == "fanout":
            assert res["joined"] == CLIENTS, who
            assert res["gaps"] == 0 and res["duplicates"] == 0 and res["errors"] == 0, who
            assert res["sent_total"] > 0, who
            assert res["deliveries_total"] == res["expected_total"] == res["sent_total"] * CLIENTS, who
        else:
            assert res["ready"] == res["held"] == CLIENTS, who
            assert res["handshake_failures"] == 0 and res["errors"] == 0, who


def test_progress_goes_to_stderr(compare):
    proc, _, rows = compare
    total = len(rows)
    assert f"[1/{total}] fanout-32b-w2 (1/6) chatd run 1/1" in proc.stderr
    assert f"[{total}/{total}] connect-join (6/6) python-websockets run 1/1" in proc.stderr
    assert "ETA" in proc.stderr


def test_table_and_chart_are_written(compare):
    _, out, _ = compare
    md = (out / "compare.md").read_text()
    header = next(l for l in md.splitlines() if l.startswith("| scenario |"))
    for name in ["chatd", "floor", "Node ws", "Node ws + Redis", "Python websockets"]:
        assert f"| {name} |" in header
    figures = [l for l in md.splitlines() if l.startswith("| fanout-") or l.startswith("| connect-")]
    assert len(figures) == 7  # connect-idle gives two figures
    assert "FAILED" not in md
    assert "| date |" in md and "| machine |" in md
    assert "![chart](compare.svg)" in md
    svg = (out / "compare.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert svg.count("fanout-32b-w2: deliveries/s") == 1
