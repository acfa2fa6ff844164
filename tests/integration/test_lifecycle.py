"""Process lifecycle: signals, running out of file descriptors, idle
pings and timeouts, and the command line."""

import resource
import signal
import socket
import subprocess

import pytest

from conftest import CHATD_BIN, CLEAN_ENV, REPO
from helpers import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    Reader,
    WsClient,
    assert_healthy,
    connect,
    joined,
    msg_frame,
    read_response,
    wait_closed,
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_every_websocket_1001_and_exits_0(chatd, sig):
    clients = [joined(chatd.port, f"u{i}")[0] for i in range(3)]
    unjoined = WsClient.open(chatd.port)
    idle_http = connect(chatd.port)
    idle_http.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(Reader(idle_http)).body == b"ok"
    half_head = connect(chatd.port)
    half_head.sendall(b"GET / HTTP/1.1\r\n")
    chatd.send_signal(sig)
    for c in clients + [unjoined]:
        c.expect_close(1001, reply=True)  # events before it skipped; then TCP ends
    for s in (idle_http, half_head):
        wait_closed(s)
        s.close()
    rc = chatd.wait_exit()
    assert rc == 0, chatd.stderr()


def test_sigterm_during_traffic(start_chatd):
    srv = start_chatd("--rate", "0")
    a, _ = joined(srv.port, "a")
    b, _ = joined(srv.port, "b")
    a.send_raw(b"".join(msg_frame(f"m{i}") for i in range(500)))
    srv.send_signal(signal.SIGTERM)
    for c in (a, b):
        code, _, seen = c.expect_close(1001, reply=True)
        ids = [e["id"] for e in seen if "id" in e]
        assert ids == sorted(set(ids)) and (not ids or ids[-1] - ids[0] == len(ids) - 1), ids
    assert srv.wait_exit() == 0


@pytest.mark.parametrize("how", ["close-reply", "close-reply-kept-open", "fin", "reset"])
def test_shutdown_ends_once_clients_are_gone(start_chatd, how):
    """With a long grace period, the process still exits as soon as every
    client has answered the 1001 (or dropped): the wait is bounded by
    EXIT_TIMEOUT (10 s), far below the 30 s grace."""
    srv = start_chatd("--shutdown-grace", "30000")
    clients = [joined(srv.port, f"u{i}")[0] for i in range(2)]
    srv.send_signal(signal.SIGTERM)
    for c in clients:
        if how == "close-reply":
            c.expect_close(1001, reply=True)
        elif how == "close-reply-kept-open":
            # RFC 6455 7.1.1: the close handshake is complete when the reply
            # arrives, and the server ends TCP then, without waiting for the
            # client's FIN (this client never sends one until the end).
            f = c.recv_frame()
            while f.opcode != OP_CLOSE:
                f = c.recv_frame()
            assert f.close_code == 1001
            c.send_frame(OP_CLOSE, f.payload[:2])
        else:
            f = c.recv_frame()
            while f.opcode != OP_CLOSE:
                f = c.recv_frame()
            assert f.close_code == 1001
            c.close() if how == "fin" else c.reset()
    assert srv.wait_exit() == 0, srv.stderr()
    for c in clients:
        c.close()


def test_shutdown_grace_bounds_a_silent_client(start_chatd):
    srv = start_chatd("--shutdown-grace", "300")
    silent, _ = joined(srv.port, "silent")
    srv.send_signal(signal.SIGTERM)
    assert srv.wait_exit() == 0
    silent.expect_close(1001)


def limit_fds(n):
    def f():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))

    return f


def served(s):
    """Sends GET /healthz on s; True when answered, False when not served
    (closed, reset, or no answer within the socket's timeout)."""
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = read_response(Reader(s))
        return r.status == 200
    except (socket.timeout, EOFError, ConnectionError):
        return False


def test_emfile_recovery(start_chatd):
    srv = start_chatd(preexec_fn=limit_fds(64))
    conns = []
    refused = None
    for _ in range(200):
        s = connect(srv.port, timeout=2)
        if not served(s):
            refused = s
            break
        conns.append(s)
    assert refused is not None, "200 connections served under RLIMIT_NOFILE 64?"
    assert 30 <= len(conns) < 64, len(conns)
    # While out of descriptors the server must wait, not spin: block on an
    # idle keep-alive connection for 2 s and look at the server's CPU time.
    cpu0 = srv.cpu_seconds()
    conns[0].settimeout(2)
    with pytest.raises(socket.timeout):
        conns[0].recv(1)
    spent = srv.cpu_seconds() - cpu0
    print(f"emfile: {len(conns)} connections served; {spent:.2f} s CPU over a 2 s wait")
    assert spent < 0.5, f"server spun while out of descriptors: {spent:.2f} s CPU in 2 s"
    for s in conns[:10]:
        s.close()
    refused.close()
    fresh = connect(srv.port)
    assert served(fresh), "not serving again after descriptors were freed"
    assert_healthy(srv.port)
    c, _ = joined(srv.port, "after-emfile")
    for s in conns[10:] + [fresh]:
        s.close()
    c.close()


def test_idle_ping_and_timeout(start_chatd):
    srv = start_chatd("--ping-interval", "1", "--idle-timeout", "2")
    alive, _ = joined(srv.port, "alive")
    silent, _ = joined(srv.port, "silent")
    assert alive.recv_json()["nick"] == "silent"
    pinged = False
    while True:  # bounded by the socket timeout
        f = alive.recv_frame()
        if f.opcode == OP_PING:
            pinged = True
            alive.send_frame(OP_PONG, f.payload)
            continue
        ev = f.json()
        assert (ev["event"], ev["nick"]) == ("leave", "silent"), ev
        break
    assert pinged, "no ping before the idle timeout"
    # The silent one saw a ping, then its connection ended.
    frames = []
    try:
        while True:
            frames.append(silent.recv_frame())
            if frames[-1].opcode == OP_CLOSE:
                break
    except (EOFError, ConnectionError):
        pass
    assert any(f.opcode == OP_PING for f in frames), frames
    wait_closed(silent.sock)
    # The one that answered stays.
    alive.send_json({"type": "msg", "msg": "still here"})
    while True:
        f = alive.recv_frame()
        if f.opcode == OP_PING:
            alive.send_frame(OP_PONG, f.payload)
            continue
        assert f.json()["msg"] == "still here"
        break


def run_chatd(*args):
    p = subprocess.run([CHATD_BIN, *map(str, args)], capture_output=True, timeout=10, cwd=str(REPO), env=CLEAN_ENV)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def one_error_line(rc, err):
    assert rc != 0
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one clear line on stderr, got {lines}"
    return lines[0]


@pytest.mark.parametrize(
    "args,mention",
    [
        (["--bogus"], "--bogus"),
        (["--port"], "--port"),
        (["--port", "notaport"], "port"),
        (["--port", "70000"], "port"),
        (["--port", "-1"], "port"),
        (["--rate", "fast"], "rate"),
        (["--max-message", "0x"], "max-message"),
        (["--burst", ""], "burst"),
        (["--ping-interval", "-5"], "ping-interval"),
    ],
)
def test_bad_flags(args, mention):
    rc, out, err = run_chatd(*args)
    line = one_error_line(rc, err)
    assert mention in line, line


def test_missing_static_dir(tmp_path):
    missing = tmp_path / "no-such-dir"
    rc, out, err = run_chatd("--host", "127.0.0.1", "--port", "0", "--static", missing)
    line = one_error_line(rc, err)
    assert str(missing) in line or "static" in line, line


def test_port_in_use():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        rc, out, err = run_chatd("--host", "127.0.0.1", "--port", port)
    line = one_error_line(rc, err)
    assert str(port) in line or "in use" in line.lower(), line


def test_help_and_version():
    rc, out, err = run_chatd("--help")
    assert rc == 0
    text = out + err
    for flag in ("--port", "--host", "--static", "--allow-origin", "--rate", "--max-backlog"):
        assert flag in text, flag
    rc, out, err = run_chatd("--version")
    assert rc == 0
    assert "chatd" in (out + err)
