"""Running the `qa` command as a user would: a new process, from this checkout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]


def qa_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a `qa` process runs in. Its per-user data folder is the test run's
    own (conftest.py points XDG_DATA_HOME at a scratch folder), never the real one."""
    return {**os.environ, "PYTHONPATH": str(REPO), **(extra or {})}


def run_qa(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`qa ARGS...` to completion, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=qa_env(env),
        timeout=timeout,
    )


def start_qa(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: int | IO[Any] = subprocess.PIPE,
    stderr: int | IO[Any] = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """`qa ARGS...` left running (a server, or a run a test will kill). A long-running server
    should write stderr to a file: an undrained pipe blocks it once the pipe is full."""
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args],
        env=qa_env(env),
        stdout=stdout,
        stderr=stderr,
        text=True,
        # A run started in the background of a shell inherits an ignored Ctrl-C; a user's
        # `qa` in a terminal does not, and the tests send it one.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
