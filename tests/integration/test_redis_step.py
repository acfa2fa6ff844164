"""scripts/redis_step.sh, the Redis side of one cluster event alone (the
publish step of docs/CLUSTER.md as a Lua script with subscribers), run
small: every step numbered once, the log capped, the newest entry the
design's payload "<epoch> <id> <body>". No timing assertions."""

import json
import shutil
import subprocess

import pytest

from conftest import CLEAN_ENV, REPO

pytestmark = pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-benchmark")),
    reason="needs redis-server and redis-benchmark (scripts/install-deps.sh)",
)


def run(**env):
    return subprocess.run(
        [str(REPO / "scripts/redis_step.sh")], capture_output=True, text=True, timeout=120,
        env={**CLEAN_ENV, **{k: str(v) for k, v in env.items()}}, cwd=str(REPO),
    )


def test_every_step_is_numbered_once_and_the_log_capped():
    p = run(STEPS=300, RETAIN=100, CLIENTS=4, SUBS=2)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["ok"] is True and r["last_id"] == 300 and r["log_len"] == 100
    assert r["subscribers"] == 2 and r["steps_per_s"] > 0 and r["redis_cpu_ns_per_step"] >= 0


def test_a_log_shorter_than_its_cap_keeps_every_step():
    r = json.loads(run(STEPS=50, RETAIN=1000, SUBS=1).stdout.strip().splitlines()[-1])
    assert r["ok"] is True and r["last_id"] == 50 and r["log_len"] == 50


@pytest.mark.parametrize("bad", [{"STEPS": "x"}, {"SUBS": 0}, {"RETAIN": "-5"}])
def test_bad_settings_are_refused(bad):
    p = run(**bad)
    assert p.returncode == 2 and "positive number" in p.stderr
