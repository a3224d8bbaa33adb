"""The upload page served for real on 127.0.0.1: uvicorn with the page's own settings
(``connector.web.server``) in a thread, or ``hr-connector serve`` in a subprocess that a
test can kill mid-apply."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from connector.sandbox.serving import QuickStopServer
from connector.web.limits import Limits
from connector.web.server import server_config
from tests.helpers import ROOT, SAMPLE_CSV
from tests.web.web_helpers import csrf_of, sign_in, sign_out, upload, upload_id, write_config

#: Graph slowed down so that a kill lands mid-apply (as tests/test_interrupted.py does).
SLOW = {"latency_ms": 150, "latency_jitter_ms": 250, "seed": 3}


@contextmanager
def served(app: Any, *, limits: Limits | None = None, forwarded_allow_ips: str = "",
           certfile: str | None = None, keyfile: str | None = None) -> Iterator[int]:
    """Serve ``app`` as ``hr-connector serve`` does, on a free port; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = server_config(app, host="127.0.0.1", port=port, limits=limits or Limits(),
                           forwarded_allow_ips=forwarded_allow_ips, certfile=certfile,
                           keyfile=keyfile, log_level="warning")
    server = QuickStopServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_process(config: Path, *, knobs: dict[str, Any] | None = None,
                  ) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``hr-connector serve --config config`` in a subprocess; yields it and its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "HRC_SANDBOX"))}
    if knobs:
        env["HRC_SANDBOX_KNOBS"] = json.dumps(knobs)
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--config", str(config), "--port",
         str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"serve ended: {process.communicate()[1]}"
            try:
                if httpx.get(f"{base}/login").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.05)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _log_lines(runs: Path, run_id: str | None) -> int:
    if not run_id:
        return 0
    try:
        return len((runs / f"{run_id}.jsonl").read_bytes().splitlines())
    except FileNotFoundError:
        return 0


def interrupted_upload(folder: Path, *, lines: int = 60) -> tuple[str, str]:
    """ulla uploads the sample and arne approves it on a real server, which is killed
    (SIGKILL) once the apply's log holds ``lines`` lines; returns the upload's id and
    the killed run's id. The state is ``folder/state``."""
    config = write_config(folder)
    state = folder / "state"
    with serve_process(config, knobs=SLOW) as (process, base), \
            httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        sign_out(client)
        sign_in(client, "arne")
        token = csrf_of(client.get(f"/uploads/{uid}").text)

        def press_approve() -> None:
            try:
                client.post(f"/uploads/{uid}/approve", data={"csrf": token}, timeout=300)
            except httpx.TransportError:
                pass  # the server was killed under it

        pressing = threading.Thread(target=press_approve, daemon=True)
        pressing.start()
        meta = state / "uploads" / uid / "upload.json"
        deadline = time.monotonic() + 120
        while True:
            run_id = json.loads(meta.read_text("utf-8")).get("apply_run_id")
            if _log_lines(state / "runs", run_id) >= lines:
                break
            assert process.poll() is None and time.monotonic() < deadline, \
                "the apply never got that far"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        pressing.join(timeout=30)
    assert run_id is not None
    return uid, str(run_id)
