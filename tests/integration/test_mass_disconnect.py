"""Many members of one room gone in one loop turn: their leave events are
fanned out after their connections were freed, and must not stay queued on
those fd slots for whoever connects next (who would read them before the
101 of its handshake)."""

import os
import signal

from helpers import WsClient


def join_room(port, nick, room):
    c = WsClient.open(port)
    c.send_json({"type": "join", "room": room, "nick": nick})
    w = c.recv_json()
    assert w["type"] == "welcome" and w["room"] == room, w
    return c


def test_new_connections_after_a_mass_reset_get_a_clean_handshake(chatd):
    p = chatd.port
    watcher = join_room(p, "watcher", "storm")
    gone = [join_room(p, f"g{i}", "storm") for i in range(30)]
    # Every join seen, so the watcher's next events are the leaves.
    seen = 0
    while seen < len(gone):
        ev = watcher.recv_json()
        if ev.get("event") == "join" and ev["nick"] != "watcher":
            seen += 1
    # Stopped, the server reads every reset in one epoll batch: one turn
    # frees all thirty before their leave events are applied.
    os.kill(chatd.pid, signal.SIGSTOP)
    try:
        for c in gone:
            c.reset()
    finally:
        os.kill(chatd.pid, signal.SIGCONT)
    leaves = 0
    while leaves < len(gone):
        ev = watcher.recv_json()
        assert ev["type"] == "system" and ev["event"] == "leave", ev
        leaves += 1
    # The freed fds are reused now: each handshake must answer 101 first
    # (WsClient.open asserts the status line), then this join's own events.
    for i in range(len(gone)):
        c = join_room(p, f"n{i}", "calm")
        ev = c.recv_json()
        assert ev["type"] == "system" and ev["event"] == "join" and ev["nick"] == f"n{i}", ev
        c.close()
