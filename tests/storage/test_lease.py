"""One bot process per database (issue 12, fault 6: two bots delivered 21 messages twice)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.storage.engine import init_db, make_engine
from bot.storage.lease import TABLE, LeaseHeld, ProcessLeaseHolder


def _engine(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    init_db(engine)
    return engine


def test_a_second_holder_is_refused_with_who_holds_it(db_url: str) -> None:
    first, second = ProcessLeaseHolder(_engine(db_url)), ProcessLeaseHolder(_engine(db_url))
    first.acquire()
    with pytest.raises(LeaseHeld) as refused:
        second.acquire()
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message
    assert first.host in message
    assert "running since" in message
    first.release()
    second.acquire()  # the first has stopped: the second starts
    second.release()


def test_a_lease_whose_heartbeat_expired_is_taken_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    first = ProcessLeaseHolder(_engine(url), ttl=30)
    first.acquire()
    stale = datetime.now(UTC) - timedelta(seconds=31)
    with first.engine.begin() as conn:  # as if on another host that vanished 31 s ago
        conn.execute(update(TABLE).values(host="elsewhere", heartbeat_at=stale))
    second = ProcessLeaseHolder(_engine(url), ttl=30)
    second.acquire()
    assert not first.renew()  # the first learns it lost the lease at its next heartbeat
    assert second.renew()


def test_a_fresh_heartbeat_from_another_host_is_respected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    first = ProcessLeaseHolder(_engine(url), ttl=30)
    first.acquire()
    with first.engine.begin() as conn:
        conn.execute(update(TABLE).values(host="elsewhere"))
    with pytest.raises(LeaseHeld, match="elsewhere"):
        ProcessLeaseHolder(_engine(url), ttl=30).acquire()


def test_a_killed_holder_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    script = (
        "import sys, time; from bot.storage.engine import init_db, make_engine;"
        "from bot.storage.lease import ProcessLeaseHolder;"
        f"e = make_engine({url!r}); init_db(e); ProcessLeaseHolder(e).acquire();"
        "print('held', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LeaseHeld, match=f"pid {child.pid}"):
            ProcessLeaseHolder(_engine(url)).acquire()
        child.kill()
        child.wait()
        ProcessLeaseHolder(_engine(url)).acquire()  # no 30 s wait: the holder is gone
    finally:
        child.kill()


def _config(tmp_path: Path) -> Path:
    (tmp_path / "campaigns").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(
        "admins: [admin]\n"
        f"database: {{url: 'sqlite:///{tmp_path / 'bot.db'}'}}\n"
        f"campaigns_dir: '{tmp_path / 'campaigns'}'\n"
        f"logging: {{file: '{tmp_path / 'bot.log'}'}}\n",
        encoding="utf-8",
    )
    return path


def test_a_second_tuanbot_run_refuses_to_start_and_starts_after_the_first_stops(tmp_path: Path) -> None:
    tuanbot = Path(sys.executable).parent / "tuanbot"
    config = _config(tmp_path)
    first = subprocess.Popen(
        [str(tuanbot), "run", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdin is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the first holds the lease
            probe = ProcessLeaseHolder(_engine(f"sqlite:///{tmp_path / 'bot.db'}")).current()
            if probe is not None and probe.pid == first.pid:
                break
            time.sleep(0.2)
        second = subprocess.run(
            [str(tuanbot), "run", "--config", str(config)],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3, second.stderr
        assert f"pid {first.pid}" in second.stderr and "running since" in second.stderr
        first.stdin.close()  # end of input: the first stops and releases
        assert first.wait(timeout=60) == 0
        third = subprocess.run(
            [str(tuanbot), "run", "--config", str(config)],
            input="alice@团购一群: /whoami\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert third.returncode == 0, third.stderr
        assert "alice" in third.stdout
    finally:
        first.kill()
