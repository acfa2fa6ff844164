"""The deployment pieces, run for real where this machine allows it:

- scripts/chatd.service passes `systemd-analyze verify` and keeps its hardening;
- the template scripts/chatd@.service (several nodes on one VM) verifies
  too, keeps every hardening line of chatd.service, and names each node;
- scripts/nginx-chatd-upstream.conf in place of the site's upstream spreads
  wss:// clients over two real chatd;
- the Redis settings docs/DEPLOY.md gives for the room logs are accepted by
  a real redis-server and are what it then runs with;
- scripts/nginx-chatd.conf (the shipped file, only ports, name and certificate
  paths substituted) terminates TLS in a real nginx in front of a real chatd,
  and a wss:// client this project did not write (Python websockets) chats
  through it;
- the web client hosted apart from the server (a second HTTP server) reaches
  chatd only when chatd lists its origin in --allow-origin;
- headless Chromium (when installed) chats from both: the page on the other
  host, and the page over https through nginx;
- `make install` into a scratch DESTDIR gives a binary that finds its client;
- the /etc/default/chatd example in docs/DEPLOY.md is accepted by chatd.

The Dockerfile and render.yaml are not exercised here (no container engine).
"""

import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from conftest import CHATD_BIN, CLEAN_ENV, REPO
from helpers import assert_healthy

SCRIPTS = REPO / "scripts"
TIMEOUT = 10.0


def free_port():
    """A port free right now on 127.0.0.1 (for servers that cannot report
    the port they bound)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what, log=None):
    """Waits (bounded) until 127.0.0.1:port accepts; fails if proc exits."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            extra = Path(log).read_text(errors="replace") if log and Path(log).exists() else ""
            pytest.fail(f"{what} exited with {proc.returncode}\n{extra}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} is not listening on {port} after {TIMEOUT}s")


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def chat_pair(uri, origin, ssl_context=None):
    """Two clients join at uri and one message goes round; asserts the
    protocol's welcome, join events and the message at both ends."""
    kw = dict(origin=origin, ssl=ssl_context, open_timeout=TIMEOUT, close_timeout=TIMEOUT)
    async with websockets.connect(uri, **kw) as a, websockets.connect(uri, **kw) as b:
        await a.send(json.dumps({"type": "join", "nick": "ann"}))
        assert await recv_json(a) == {"type": "welcome", "nick": "ann", "users": ["ann"]}
        ja = await recv_json(a)
        assert ja["type"] == "system" and ja["event"] == "join" and ja["nick"] == "ann", ja
        await b.send(json.dumps({"type": "join", "nick": "ben"}))
        assert await recv_json(b) == {"type": "welcome", "nick": "ben", "users": ["ann", "ben"]}
        jb = await recv_json(b)
        assert jb == await recv_json(a) and jb["id"] == ja["id"] + 1
        await b.send(json.dumps({"type": "msg", "msg": "through the proxy ✓"}))
        ma, mb = await recv_json(a), await recv_json(b)
        assert ma == mb and ma["msg"] == "through the proxy ✓" and ma["nick"] == "ben", (ma, mb)
        await a.close(1000)
        left = await recv_json(b)
        assert left["event"] == "leave" and left["nick"] == "ann", left


async def refused_status(uri, origin, ssl_context=None):
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
        async with websockets.connect(uri, origin=origin, ssl=ssl_context, open_timeout=TIMEOUT):
            pass
    return e.value.status_code


# ------------------------------------------------------------------ systemd


def unit_settings(text):
    """[Service] key -> list of values, in order (a key may repeat)."""
    section, out = None, {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_systemd_unit_keeps_its_hardening():
    s = unit_settings((SCRIPTS / "chatd.service").read_text())
    want = {
        "ExecStart": "/usr/local/bin/chatd",
        "EnvironmentFile": "-/etc/default/chatd",
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet": "",
        "LimitNOFILE": "65536",
        "Restart": "on-failure",
        "KillSignal": "SIGTERM",
        "StateDirectory": "chatd",
        "Environment": "CHATD_DB=/var/lib/chatd/chatd.db",
    }
    for key, value in want.items():
        assert s.get(key) == [value], f"{key}: {s.get(key)} (want {value!r})"
    assert "@system-service" in s["SystemCallFilter"]
    stop_s = int(re.fullmatch(r"(\d+)s?", s["TimeoutStopSec"][0]).group(1))
    assert stop_s * 1000 > 3000 + 5000, "TimeoutStopSec must leave room above chatd's shutdown grace"


def verify_units(tmp_path, unit_file, names, mark):
    """systemd-analyze verify on each of `names` (the unit, or instances of a
    template) with unit_file's ExecStart pointed at the chatd under test;
    verify exits 0 even on unknown keys and bad values, so any warning that
    names `mark` fails too."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    if not os.access(CHATD_BIN, os.X_OK):
        pytest.fail(f"{CHATD_BIN} is not built (make build/chatd, or set CHATD_BIN)")
    text = (SCRIPTS / unit_file).read_text()
    assert "ExecStart=/usr/local/bin/chatd\n" in text
    # verify insists the ExecStart binary exists: point it at the one under test.
    (tmp_path / unit_file).write_text(text.replace("ExecStart=/usr/local/bin/chatd\n", f"ExecStart={CHATD_BIN}\n"))
    for name in names:
        r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
        ours = [l for l in (r.stdout + r.stderr).splitlines() if mark in l]
        assert r.returncode == 0 and not ours, f"rc={r.returncode}\n{r.stdout}{r.stderr}"


def test_systemd_unit_verifies(tmp_path):
    verify_units(tmp_path, "chatd.service", ["chatd.service"], "chatd.service")


HARDENING = [
    "DynamicUser", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
    "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
    "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc",
    "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
    "LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
    "SystemCallErrorNumber", "CapabilityBoundingSet", "AmbientCapabilities", "UMask",
    "LimitNOFILE", "KillSignal", "KillMode", "TimeoutStopSec", "Restart", "ExecStart",
]


def test_template_unit_is_the_unit_per_node():
    one = unit_settings((SCRIPTS / "chatd.service").read_text())
    many = unit_settings((SCRIPTS / "chatd@.service").read_text())
    for key in HARDENING:
        assert many.get(key) == one.get(key), f"{key}: {many.get(key)} (chatd.service: {one.get(key)})"
    # Every node on the one port, named by machine and instance; the shared
    # settings first, then the node's own file.
    assert many["Environment"] == ["CHATD_REUSE_PORT=yes", "CHATD_NODE_ID=%H-%i"]
    assert many["EnvironmentFile"] == ["-/etc/default/chatd", "-/etc/default/chatd@%i"]
    # Nothing on disk shared between nodes: a directory each, no CHATD_DB.
    assert many["StateDirectory"] == ["chatd/%i"] and many["WorkingDirectory"] == ["%S/chatd/%i"]
    assert not any(v.startswith("CHATD_DB=") for v in many["Environment"])


def test_template_unit_verifies(tmp_path):
    # An instance's path loads the template (a bad key in it is reported
    # against chatd@.service), with %i and %H expanded.
    verify_units(tmp_path, "chatd@.service", ["chatd@1.service", "chatd@2.service"], "chatd@")


def test_template_unit_needs_redis(tmp_path):
    # The template's own environment (CHATD_NODE_ID as %H-%i expands) with
    # no CHATD_REDIS: chatd refuses to start, so nobody runs processes that
    # share a port but not their rooms believing they are one service.
    env = {"CHATD_REUSE_PORT": "yes", "CHATD_NODE_ID": f"{socket.gethostname()}-1"}
    p = subprocess.run([CHATD_BIN, "--host", "127.0.0.1", "--port", "0", "--static", str(REPO / "static")], env={**CLEAN_ENV, **env},
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 2 and "--node-id is used only with --redis" in p.stderr, p.stderr


def deploy_md_env_example():
    """The KEY=value lines of the /etc/default/chatd example in docs/DEPLOY.md."""
    text = (REPO / "docs" / "DEPLOY.md").read_text()
    m = re.search(r"```[a-z]*\n# /etc/default/chatd\n(.*?)```", text, re.S)
    assert m, "docs/DEPLOY.md has no /etc/default/chatd example block"
    env = {}
    for line in m.group(1).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"CHATD_[A-Z_]+", key), f"odd line in the example: {line!r}"
            env[key] = value
    return env


def test_documented_environment_file_is_accepted(start_chatd):
    env = deploy_md_env_example()
    assert "CHATD_PORT" in env and "CHATD_MAX_CONN_PER_IP" in env
    # The flags start_chatd adds (--host 127.0.0.1 --port 0) win over the file's.
    server = start_chatd(env={**CLEAN_ENV, **env})
    assert_healthy(server.port)


def deploy_md_block(first_line, lang):
    """The lines after first_line of the ```lang block of docs/DEPLOY.md that starts with it."""
    text = (REPO / "docs" / "DEPLOY.md").read_text()
    m = re.search(rf"```{lang}\n{re.escape(first_line)}\n(.*?)```", text, re.S)
    assert m, f"docs/DEPLOY.md has no {lang} block starting {first_line!r}"
    return m.group(1)


def test_documented_node_settings_are_valid(tmp_path):
    # The shared settings of chatd@N (with CHATD_REDIS) and the template's
    # own: every value accepted. A chatd without the broker then refuses
    # --redis, and only that; one with it runs (waiting for its Redis).
    env = dict(CLEAN_ENV, CHATD_REUSE_PORT="yes", CHATD_NODE_ID="vm-1")
    for line in deploy_md_block("# /etc/default/chatd, for chatd@N: the shared settings", "ini").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert env["CHATD_REDIS"].startswith("redis://") and "CHATD_TRUSTED_PROXY" in env
    p = subprocess.Popen([CHATD_BIN, "--port", "0", "--static", str(REPO / "static")], env=env, cwd=str(tmp_path),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        rc = p.wait(3)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        stop(p)
    err = p.stderr.read()
    if rc is not None:
        assert rc == 2 and "the Redis broker is not available" in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_documented_redis_settings_are_what_redis_runs_with(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/install-deps.sh)")
    lines = [l.strip() for l in deploy_md_block("# redis.conf for chatd's room logs", "conf").splitlines()]
    settings = [l.split(None, 1) for l in lines if l and not l.startswith("#")]
    want = dict(settings)
    assert want["appendonly"] == "yes" and want["appendfsync"] == "everysec"
    assert want["maxmemory-policy"] == "noeviction"
    port = free_port()
    conf = tmp_path / "redis.conf"
    # The documented lines, then only where this test may listen and write.
    conf.write_text("\n".join(lines) + f"\nport {port}\ndir {tmp_path}\n")
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=str(tmp_path))
    try:
        wait_listening(port, proc, "redis-server")
        for key, value in settings:
            got = subprocess.run(["redis-cli", "-p", str(port), "config", "get", key],
                                 capture_output=True, text=True, timeout=TIMEOUT).stdout.split("\n")
            assert got[0] == key, got
            if key == "maxmemory":
                assert int(got[1]) == 2 << 30, got
            else:
                assert got[1] == value, got
    finally:
        stop(proc)


# ------------------------------------------------------------------ nginx


@pytest.fixture
def tls_cert(tmp_path):
    """A self-signed certificate for localhost made now; returns (cert, key, ssl context trusting it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    ctx = ssl.create_default_context(cafile=str(cert))
    return cert, key, ctx


def render_site(chatd_port, https_port, http_port, cert, key, webroot):
    """scripts/nginx-chatd.conf with only what differs on this machine
    replaced; every replacement must hit, so the test follows the file."""
    text = (SCRIPTS / "nginx-chatd.conf").read_text()
    subs = [
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{chatd_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/letsencrypt/live/chat.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/chat.example.org/privkey.pem", str(key)),
        ("root /var/www/html;", f"root {webroot};"),
        ("server_name chat.example.org;", "server_name localhost;"),
    ]
    for old, new in subs:
        assert old in text, f"scripts/nginx-chatd.conf no longer has {old!r}: update the test with it"
        text = text.replace(old, new)
    return text


def upstream_block(text):
    """The `upstream chatd { ... }` block of an nginx file, and where it is."""
    m = re.search(r"^upstream chatd \{\n.*?^\}\n", text, re.S | re.M)
    assert m, "no `upstream chatd { ... }` block"
    return m


def cluster_site(ports, https_port, http_port, cert, key, webroot):
    """The site with its upstream replaced by scripts/nginx-chatd-upstream.conf's,
    the example addresses replaced by loopback nodes."""
    site = render_site(ports[0], https_port, http_port, cert, key, webroot)
    block = upstream_block((SCRIPTS / "nginx-chatd-upstream.conf").read_text()).group(0)
    examples = re.findall(r"server (10\.0\.0\.\d+:8080)", block)
    assert len(examples) == len(ports), examples
    for example, port in zip(examples, ports):
        block = block.replace(example, f"127.0.0.1:{port}")
    m = upstream_block(site)
    return site[: m.start()] + block + site[m.end():]


@pytest.fixture
def nginx(tmp_path, tls_cert, start_chatd):
    """chatd behind nginx (the shipped site): returns (https_port, http_port, ssl context)."""
    server = start_chatd()
    yield from run_nginx(tmp_path, tls_cert, lambda *a: render_site(server.port, *a))


@pytest.fixture
def nginx_two_nodes(tmp_path, tls_cert, start_chatd):
    """Two chatd behind nginx with the several-node upstream: returns
    (https_port, ssl context, the two servers)."""
    nodes = [start_chatd("--trusted-proxy", "127.0.0.1/32") for _ in range(2)]
    ports = [n.port for n in nodes]
    for https_port, _, ctx in run_nginx(tmp_path, tls_cert, lambda *a: cluster_site(ports, *a)):
        yield https_port, ctx, nodes


def run_nginx(tmp_path, tls_cert, site):
    """Runs nginx with the site site(https_port, http_port, cert, key, webroot)
    gives; yields (https_port, http_port, ssl context) once, then stops it."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (Debian package nginx-light)")
    cert, key, ctx = tls_cert
    https_port, http_port = free_port(), free_port()
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    (prefix / "site.conf").write_text(site(https_port, http_port, cert, key, prefix))
    # The wrapper an nginx.conf gives a site: only paths a test may write.
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/site.conf;
}}
"""
    )
    log = prefix / "error.log"
    cmd = ["nginx", "-p", str(prefix), "-c", str(conf), "-g", f"daemon off; pid {prefix}/nginx.pid; error_log {log};"]
    check = subprocess.run(cmd + ["-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx -t rejects the site:\n{check.stderr}"
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(https_port, proc, "nginx", log)
        yield https_port, http_port, ctx
    finally:
        stop(proc, signal.SIGQUIT)  # graceful: lets the proxied WebSockets close first
        stop(proc)


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as r:
        m = re.search(rf"^{name} (\d+)$", r.read().decode(), re.M)
    assert m, f"no {name} in /metrics"
    return int(m.group(1))


async def hold_clients(uri, origin, ctx, n, prefix="user"):
    """Opens n WebSockets through the proxy, each joining with a nick of its
    own; returns [(ws, welcome)] once all are welcomed, still open (the
    caller closes)."""
    kw = dict(origin=origin, ssl=ctx, open_timeout=TIMEOUT, close_timeout=TIMEOUT)
    conns = []
    for k in range(n):
        ws = await websockets.connect(uri, **kw)
        conns.append(ws)
        await ws.send(json.dumps({"type": "join", "nick": f"{prefix}{k}"}))
        welcome = await recv_json(ws)
        assert welcome["type"] == "welcome" and welcome["nick"] == f"{prefix}{k}", welcome
        conns[-1] = (ws, welcome)
    return conns


def test_nginx_upstream_spreads_websockets_over_the_nodes(nginx_two_nodes):
    https_port, ctx, nodes = nginx_two_nodes
    uri, origin = f"wss://localhost:{https_port}/ws", f"https://localhost:{https_port}"
    held = lambda: [metric(n.port, "chatd_websockets_open") for n in nodes]  # noqa: E731

    async def run():
        # Three clients: two end up on one node. Separate chatd (no broker
        # here) list only their own users in a welcome, which says which
        # earlier client each one shares a node with.
        conns = await hold_clients(uri, origin, ctx, 3)
        group = list(range(3))
        for k, (_, w) in enumerate(conns):
            group[k] = next((j for j in range(k) if f"user{j}" in w["users"]), k)
        pair = [k for k in range(3) if group.count(group[k]) == 2 or group[k] != k]
        assert sorted(held()) == [1, 2] and len(pair) == 2, (held(), group)
        busy = held().index(2)
        for k in pair:
            await conns[k][0].close(1000)
        assert held()[busy] == 0
        # The next client goes to that node, now holding fewer. Round-robin
        # would send it by its turn in the rotation instead: it counts
        # requests, and a WebSocket is one request for hours.
        late = await hold_clients(uri, origin, ctx, 1, "late")
        try:
            return held(), busy
        finally:
            for ws, _ in [conns[k] for k in range(3) if k not in pair] + late:
                await ws.close(1000)

    counts, busy = asyncio.run(run())
    assert counts[busy] == 1 and counts[1 - busy] == 1, counts


def test_nginx_upstream_skips_a_node_that_is_down(nginx_two_nodes):
    # No stickiness: with one node gone, every client lands on the other.
    https_port, ctx, nodes = nginx_two_nodes
    nodes[0].stop()
    uri, origin = f"wss://localhost:{https_port}/ws", f"https://localhost:{https_port}"

    async def run():
        conns = await hold_clients(uri, origin, ctx, 3)
        try:
            return metric(nodes[1].port, "chatd_websockets_open")
        finally:
            for ws, _ in conns:
                await ws.close(1000)

    assert asyncio.run(run()) == 3


def https_get(port, path, ctx):
    req = urllib.request.Request(f"https://localhost:{port}{path}")
    with urllib.request.urlopen(req, context=ctx, timeout=TIMEOUT) as r:
        return r.status, r.headers, r.read()


def test_nginx_serves_the_client_over_https(nginx):
    https_port, http_port, ctx = nginx
    status, headers, body = https_get(https_port, "/", ctx)
    assert status == 200 and headers["Content-Type"].startswith("text/html"), headers
    assert b'<meta name="chat-server"' in body
    assert headers["Strict-Transport-Security"]
    assert https_get(https_port, "/healthz", ctx)[2].strip() == b"ok"
    assert b"# TYPE" in https_get(https_port, "/metrics", ctx)[2]  # from 127.0.0.1: allowed
    # Plain HTTP redirects to HTTPS.
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=TIMEOUT)
    c.request("GET", "/chat.html?x=1", headers={"Host": "localhost"})
    r = c.getresponse()
    assert r.status == 301 and r.getheader("Location") == "https://localhost/chat.html?x=1"
    c.close()


def test_nginx_proxies_wss_chat(nginx):
    https_port, _, ctx = nginx
    uri = f"wss://localhost:{https_port}/ws"
    # A browser on the page would send this Origin; it passes only because the
    # proxy hands chatd the Host with its port ($http_host).
    asyncio.run(chat_pair(uri, origin=f"https://localhost:{https_port}", ssl_context=ctx))
    asyncio.run(chat_pair(uri, origin=None, ssl_context=ctx))
    assert asyncio.run(refused_status(uri, "https://evil.example", ctx)) == 403


def test_nginx_plain_get_ws_reaches_chatd_as_400(nginx):
    https_port, _, ctx = nginx
    with pytest.raises(urllib.error.HTTPError) as e:
        https_get(https_port, "/ws", ctx)
    assert e.value.code == 400


# ------------------------------------------------------------------ the client hosted elsewhere


@pytest.fixture
def static_host(tmp_path):
    """Starts python3 -m http.server on a copy of static/; returns
    (port, set_server(ws_url)) where set_server names chatd in the copy's meta tag."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "static", site)
    page = site / "chat.html"
    original = page.read_text()
    tag = '<meta name="chat-server" content="">'
    assert tag in original, "static/chat.html no longer has an empty chat-server meta tag"

    def set_server(url):
        page.write_text(original.replace(tag, f'<meta name="chat-server" content="{url}">'))

    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(site)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        line = b""
        deadline = time.monotonic() + TIMEOUT
        while b"port" not in line and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
        m = re.search(rb"port (\d+)", line)
        assert m, f"http.server did not report its port: {line!r}"
        yield int(m.group(1)), set_server
    finally:
        stop(proc)


def test_client_hosted_elsewhere_needs_allow_origin(static_host, start_chatd):
    static_port, set_server = static_host
    origin = f"http://127.0.0.1:{static_port}"
    allowed = start_chatd("--allow-origin", origin)
    set_server(f"ws://127.0.0.1:{allowed.port}/ws")

    # The page from the other host names chatd, and its script comes along.
    with urllib.request.urlopen(f"{origin}/chat.html", timeout=TIMEOUT) as r:
        page = r.read().decode()
    assert f'<meta name="chat-server" content="ws://127.0.0.1:{allowed.port}/ws">' in page
    with urllib.request.urlopen(f"{origin}/chat.js", timeout=TIMEOUT) as r:
        assert b'meta[name="chat-server"]' in r.read()

    uri = f"ws://127.0.0.1:{allowed.port}/ws"
    asyncio.run(chat_pair(uri, origin=origin))
    assert asyncio.run(refused_status(uri, "http://127.0.0.1:1")) == 403

    # The same origin from the environment, as /etc/default/chatd would give it.
    from_env = start_chatd(env={**CLEAN_ENV, "CHATD_ALLOW_ORIGIN": f"https://other.example, {origin}"})
    asyncio.run(chat_pair(f"ws://127.0.0.1:{from_env.port}/ws", origin=origin))

    # Without --allow-origin, a page from another origin is refused.
    strict = start_chatd()
    assert asyncio.run(refused_status(f"ws://127.0.0.1:{strict.port}/ws", origin)) == 403


# ------------------------------------------------------------------ a real browser

BROWSER_DIR = REPO / "tests" / "browser"
# Opens PAGE_URL in headless Chromium (the browser tests' harness), joins as
# NICK, says TEXT, waits for the server's copy, and prints what the page
# contacted and any page error as JSON.
BROWSER_SCRIPT = """
import { launchBrowser, byId, join, say, waitLast, WAIT_MS } from '%(harness)s';
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const urls = [], errors = [];
  page.on('websocket', (ws) => urls.push(ws.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(process.env.PAGE_URL);
  await join(page, process.env.NICK);
  await say(page, process.env.TEXT);
  await waitLast(page, 'own', process.env.TEXT);
  console.log(JSON.stringify({ urls, errors }));
} finally {
  await browser.close();
}
"""


def browser_available():
    chromium = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    if shutil.which("node") is None or not os.access(chromium, os.X_OK):
        pytest.skip("node or chromium is not installed")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.skip("tests/browser/node_modules is missing (scripts/install-deps.sh)")


async def browser_joins(page_url, watch_uri, origin, ssl_context=None):
    """A Python client watches the room while Chromium, on page_url, joins as
    'web' and talks; returns the browser's report."""
    kw = dict(origin=origin, ssl=ssl_context, open_timeout=TIMEOUT, close_timeout=TIMEOUT)
    text = "hello from the page"
    async with websockets.connect(watch_uri, **kw) as watcher:
        await watcher.send(json.dumps({"type": "join", "nick": "watcher"}))
        assert (await recv_json(watcher))["type"] == "welcome"
        await recv_json(watcher)  # its own join event
        script = BROWSER_SCRIPT % {"harness": (BROWSER_DIR / "harness.mjs").as_uri()}
        node = await asyncio.create_subprocess_exec(
            "node", "--input-type=module", "-e", script, cwd=str(BROWSER_DIR),
            env={**os.environ, "PAGE_URL": page_url, "NICK": "web", "TEXT": text},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        seen = []
        while not (seen and seen[-1].get("msg") == text):
            seen.append(await recv_json(watcher))
        out, err = await asyncio.wait_for(node.communicate(), 6 * TIMEOUT)
        assert node.returncode == 0, err.decode(errors="replace")
    assert [(e["type"], e.get("event"), e["nick"]) for e in seen] == [("system", "join", "web"), ("msg", None, "web")]
    return json.loads(out.decode().strip().splitlines()[-1])


def test_browser_page_from_another_host_chats(static_host, start_chatd):
    browser_available()
    static_port, set_server = static_host
    origin = f"http://127.0.0.1:{static_port}"
    server = start_chatd("--allow-origin", origin)
    ws_url = f"ws://127.0.0.1:{server.port}/ws"
    set_server(ws_url)
    report = asyncio.run(browser_joins(f"{origin}/chat.html", ws_url, origin))
    assert report["errors"] == [] and report["urls"] == [ws_url], report


def test_browser_through_nginx(nginx):
    browser_available()
    https_port, _, ctx = nginx
    base = f"https://localhost:{https_port}"
    report = asyncio.run(browser_joins(f"{base}/", f"wss://localhost:{https_port}/ws", base, ctx))
    assert report["errors"] == [] and report["urls"] == [f"wss://localhost:{https_port}/ws"], report


# ------------------------------------------------------------------ make install


def test_make_install_layout_finds_its_client(tmp_path, start_chatd, monkeypatch):
    import conftest

    bin_path = Path(CHATD_BIN).resolve()
    try:
        build = bin_path.parent.relative_to(REPO)
    except ValueError:
        pytest.skip(f"{CHATD_BIN} is not built in this repository")
    dest = tmp_path / "dest"
    # -o: install the binary under test as it is, never rebuild it here.
    r = subprocess.run(
        ["make", "--no-print-directory", "-o", f"{build}/chatd", f"BUILD={build}", f"DESTDIR={dest}",
         "PREFIX=/usr/local", "install"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    installed = dest / "usr/local/bin/chatd"
    if r.returncode == 0 and not installed.exists():
        pytest.skip("the Makefile has no install rule yet")
    assert r.returncode == 0, r.stdout + r.stderr
    share = dest / "usr/local/share/chatd/static"
    assert (share / "chat.html").read_bytes() == (REPO / "static" / "chat.html").read_bytes()
    assert os.access(installed, os.X_OK)
    # Run from a directory with no ./static: the binary must find ../share/chatd/static.
    monkeypatch.setattr(conftest, "CHATD_BIN", str(installed))
    server = start_chatd(cwd=str(tmp_path))
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/chat.html", timeout=TIMEOUT) as resp:
        assert resp.read() == (share / "chat.html").read_bytes()
