"""A client that never reads must not slow the room or grow the server:
PROTOCOL.md, close code 1008 (slow consumer, default limit 4 MiB)."""

import threading

from helpers import OP_CLOSE, OP_TEXT, assert_healthy, get, joined, msg_frame

MAX_BACKLOG = 4 << 20  # the default --max-backlog
RSS_BOUND_KIB = (64 << 10) + (MAX_BACKLOG >> 10)  # 64 MiB + max-backlog
SENDERS = 3
PER_SENDER = 9000  # 27,000 events of ~1,950 bytes: ~53 MB to each reader
WINDOW = 8  # own messages in flight per sender
PAD = 1880


def sanitized(srv):
    """True for an ASan build, whose shadow memory and quarantine make RSS
    say nothing about the server's own buffers."""
    with open(f"/proc/{srv.pid}/maps") as f:
        return "libasan" in f.read()


class RssMonitor(threading.Thread):
    """Samples the server's VmRSS until stopped; keeps the peak."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.peak, self.stopped = srv, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                self.peak = max(self.peak, self.srv.rss_kib())
            except OSError:
                return
            self.stopped.wait(0.02)  # a sampling period, not synchronisation


class Pacing:
    """Bounds the messages in flight room-wide: a sender may send only while
    every reader is within WINDOW * SENDERS messages of all that was sent, so
    a reader thread that lags (GIL, a busy machine) is never the one pushed
    past --max-backlog; only the client that never reads is."""

    def __init__(self):
        self.cond = threading.Condition()
        self.sent = 0
        self.received = [0] * SENDERS

    def _may_send(self):
        return self.sent - min(self.received) < WINDOW * SENDERS

    def wait_turn(self, i):
        """Waits until sending is allowed or reader i has something to read
        (bounded); True when it may send."""
        with self.cond:
            self.cond.wait_for(lambda: self._may_send() or self.received[i] < self.sent, timeout=10)
            return self._may_send()

    def on_sent(self, n):
        with self.cond:
            self.sent += n
            self.cond.notify_all()

    def on_received(self, i):
        with self.cond:
            self.received[i] += 1
            self.cond.notify_all()


def run_sender(c, i, pacing, log, errors):
    """Sends PER_SENDER messages, at most WINDOW of its own in flight and
    within the room-wide pacing, and reads until it has every sender's
    messages and the slow consumer's leave. log gets (id, nick, seq)."""
    try:
        sent = own = msgs = 0
        leave = None
        pad = "p" * PAD
        while msgs < SENDERS * PER_SENDER or leave is None:
            if sent < PER_SENDER and sent - own < WINDOW and pacing.wait_turn(i):
                n = min(WINDOW - (sent - own), PER_SENDER - sent)
                pacing.on_sent(n)
                c.send_raw(b"".join(msg_frame(f"{c.nick}:{sent + k}:{pad}") for k in range(n)))
                sent += n
            ev = c.recv_json()
            if ev["type"] == "msg":
                nick, seq, _ = ev["msg"].split(":", 2)
                assert nick == ev["nick"]
                log.append((ev["id"], nick, int(seq)))
                msgs += 1
                pacing.on_received(i)
                if nick == c.nick:
                    own += 1
            else:
                assert (ev["type"], ev["event"], ev["nick"]) == ("system", "leave", "slow"), ev
                leave = ev
                log.append((ev["id"], "leave", -1))
    except Exception as e:
        errors.append((c.nick, repr(e)))


def drain_slow(slow):
    """Reads what the slow client was sent: (ids of its events, close code or
    None). Tolerates a frame cut short by the drop."""
    ids, code = [], None
    slow.sock.settimeout(10)
    try:
        while True:
            f = slow.recv_frame()
            if f.opcode == OP_CLOSE:
                code = f.close_code
                break
            if f.opcode == OP_TEXT:
                ev = f.json()
                if "id" in ev:
                    ids.append(ev["id"])
    except (EOFError, ConnectionResetError):
        pass
    return ids, code


def test_slow_consumer_dropped_others_unharmed(start_chatd):
    srv = start_chatd("--rate", "0")
    senders = []
    for i in range(SENDERS):
        c, _ = joined(srv.port, f"s{i}")
        senders.append(c)
    slow, _ = joined(srv.port, "slow", rcvbuf=4096)
    for i, c in enumerate(senders):
        for _ in range(SENDERS - 1 - i + 1):  # later joins, then slow's
            assert c.recv_json()["event"] == "join"
    rss0 = srv.rss_kib()
    mon = RssMonitor(srv)
    mon.start()
    logs = [[] for _ in senders]
    errors = []
    pacing = Pacing()
    threads = [
        threading.Thread(target=run_sender, args=(c, i, pacing, logs[i], errors)) for i, c in enumerate(senders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    mon.stopped.set()
    mon.join(5)
    print(
        f"backpressure: server VmRSS start {rss0} KiB, peak {mon.peak} KiB, bound {RSS_BOUND_KIB} KiB; "
        f"{SENDERS * PER_SENDER} events of ~{PAD + 60} B to each of {SENDERS} readers"
    )
    assert not errors, errors
    assert all(not t.is_alive() for t in threads), "a sender never finished"

    # Everyone else got everything, in one order, with no gap.
    assert logs[0] == logs[1] == logs[2]
    ids = [e[0] for e in logs[0]]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "gap or duplicate in ids"
    for c in senders:
        assert [s for _, n, s in logs[0] if n == c.nick] == list(range(PER_SENDER))
    if sanitized(srv):
        print("backpressure: sanitizer build, RSS bound not checked")
    else:
        assert mon.peak < RSS_BOUND_KIB, f"peak RSS {mon.peak} KiB over {RSS_BOUND_KIB} KiB"

    # The slow one was dropped: what it got is a gap-free prefix, and the
    # close it may have got says 1008.
    slow_ids, code = drain_slow(slow)
    assert code in (None, 1008), code
    if slow_ids:
        assert slow_ids == list(range(slow_ids[0], slow_ids[0] + len(slow_ids)))
    print(f"backpressure: slow consumer got {len(slow_ids)} events, close code {code}")
    body = get(srv.port, b"/metrics").body.decode()
    assert "chatd_slow_consumers_dropped_total 1" in body.splitlines(), body
    assert_healthy(srv.port)
