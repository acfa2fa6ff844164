"""`scripts/loadtest.sh --cluster` (issue 13's benchmark) in a tiny
configuration: two chatd nodes on Redis (on two ports, and on one with
--reuse-port) beside one node and node-ws-redis, every scenario with every
check passing. With a stand-in for the broker
(a wrapper that drops --redis and --node-id, so the nodes are separate
chatd sharing nothing) the plumbing is checked: a Redis and every node
started, the clients spread over the nodes' ports by --ports, every process
named to --server-pid, everything stopped afterwards; and chat_load must
see that such nodes are not one service. No timing assertions."""

import json
import os
import shutil
import socket
import subprocess

import pytest

from conftest import CHATD_BIN, CLEAN_ENV, REPO

CHAT_LOAD_BIN = os.environ.get("CHAT_LOAD_BIN")
CLIENTS = 40

pytestmark = [
    pytest.mark.skipif(
        not CHAT_LOAD_BIN, reason="set CHAT_LOAD_BIN (absolute path), as `make integration` does"
    ),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]


def free_port_run(n):
    """A loopback port p with p+1 .. p+n free too (the nodes go on p, p+2, ...)."""
    for _ in range(50):
        socks = []
        try:
            a = socket.socket()
            socks.append(a)
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            if p + n > 65535:
                continue
            for k in range(1, n + 1):
                b = socket.socket()
                socks.append(b)
                b.bind(("127.0.0.1", p + k))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.fail("no free run of loopback ports")


def loadtest(tmp_path, *args, chatd=CHATD_BIN):
    results = tmp_path / "results.jsonl"
    env = dict(CLEAN_ENV, CHATD=chatd, CHAT_LOAD=CHAT_LOAD_BIN, RESULTS=str(results))
    proc = subprocess.run(
        [str(REPO / "scripts/loadtest.sh"), "--cluster", "--runs", "1", "--clients", str(CLIENTS),
         "--duration", "1", "--port", str(free_port_run(3)), *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO),
    )
    rows = [json.loads(l) for l in results.read_text().splitlines()] if results.exists() else []
    return proc, rows


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_lists_the_cluster_scenarios():
    out = subprocess.run([str(REPO / "scripts/loadtest.sh"), "--list"], capture_output=True,
                         text=True, timeout=30, cwd=str(REPO))
    assert out.returncode == 0
    names = [l.split(":")[0] for l in out.stdout.splitlines()]
    assert "cluster-1x1000-2n" in names and "cluster-rate50-2n" in names


def test_two_nodes_on_redis_run_as_one_service_beside_one_node(tmp_path):
    servers = "chatd-cluster chatd-reuse chatd"
    if (REPO / "bench/peers/node/node_modules/ws").is_dir():
        servers += " node-ws-redis"
    proc, rows = loadtest(tmp_path, "--only", servers)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipped" not in proc.stderr
    ran = servers.split()
    assert sorted((r["scenario"], r["server"]) for r in rows) == sorted(
        (s, v) for s in ("cluster-1x1000-2n", "cluster-rate50-2n") for v in ran
    )
    for r in rows:
        res = r["result"]
        assert res["ok"] is True, r
        assert res["joined"] == CLIENTS and res["rooms"] == 1 and res["mismatches"] == 0
        assert res["deliveries_total"] == res["sent_total"] * CLIENTS
        assert res["server_ns_per_delivery"] > 0  # every process of the service named
    # Both nodes served clients, and every client got every event.
    cluster = next(r["result"] for r in rows if r["server"] == "chatd-cluster")
    assert len(cluster["ports"]) == 2 and all(n > 0 for n in cluster["port_joined"]), cluster


def test_the_cluster_plumbing_with_a_stand_in_for_the_broker(tmp_path):
    # Separate chatd per node: started, spread over, measured and stopped
    # like a cluster, but not one service, which chat_load must notice.
    wrapper = tmp_path / "chatd-no-redis"
    wrapper.write_text(
        "#!/bin/bash\n"
        "args=()\n"
        "while [ $# -gt 0 ]; do\n"
        "  case $1 in --redis|--node-id) shift 2 ;; *) args+=(\"$1\"); shift ;; esac\n"
        "done\n"
        f"exec {CHATD_BIN} \"${{args[@]}}\"\n"
    )
    wrapper.chmod(0o755)
    proc, rows = loadtest(tmp_path, "--only", "chatd-cluster chatd-reuse", "cluster-1x1000-2n",
                          chatd=str(wrapper))
    assert "skipped" not in proc.stderr
    assert proc.returncode == 1, proc.stderr[-3000:]  # FAILED checks
    by_server = {r["server"]: r["result"] for r in rows}
    assert set(by_server) == {"chatd-cluster", "chatd-reuse"}
    port = by_server["chatd-reuse"]["ports"][0]
    cluster = by_server["chatd-cluster"]
    assert cluster["ports"] == [port, port + 2] and cluster["port_joined"] == [CLIENTS // 2] * 2
    # Two nodes that share nothing: each message reaches its own node only.
    assert cluster["deliveries_match"] is False and cluster["ok"] is False
    assert cluster["deliveries_total"] == cluster["sent_total"] * CLIENTS // 2
    assert cluster["server_ns_per_delivery"] > 0
    # --reuse-port: both nodes on one port, the kernel spreading the clients.
    reuse = by_server["chatd-reuse"]
    assert reuse["ports"] == [port] and reuse["joined"] == CLIENTS
    assert reuse["ok"] is False
    assert "checks FAILED" in proc.stdout
    for p in (port, port + 2):
        assert not listening(p), f"a node still listens on {p}"
