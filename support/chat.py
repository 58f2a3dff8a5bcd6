"""The chat page as tests and benchmarks drive it: `qa chat` in its own process on a
loopback port, and a person typing a question into it in a browser."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from support.cli import REPO, start_qa
from support.servers import free_port, stop_process, wait_for_port

SEEDS = REPO / "seeds"


class ChatServer:
    """`qa chat` in its own process on a free loopback port, over `corpus` (seeds/ unless
    told), its stderr kept in `log` (a test may read what the server printed)."""

    def __init__(
        self, data_dir: Path, extra_env: dict[str, str] | None = None, corpus: Path = SEEDS
    ) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.corpus = corpus
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / "server.log"
        env = {"QA_DATA_DIR": str(data_dir), "QA_CORPUS": str(corpus), **(extra_env or {})}
        self._stderr = self.log.open("w")
        self.proc = start_qa(
            "chat",
            "--port",
            str(self.port),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        try:
            wait_for_port(self.port, self.proc, 600)  # a first start indexes; 2 busy cores
        except BaseException:
            self.stop()  # a server that never listened must not outlive the test
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def printed(self) -> str:
        """What the server has written to stderr so far."""
        return self.log.read_text()

    def stop(self) -> None:
        stop_process(self.proc, 15)
        self._stderr.close()


def ask(page, question: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Type a question, press Enter; seconds to the first streamed text and to the end."""
    before = page.locator("#qa-chat .message").count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('#qa-chat .message');"
        " return m.length >= n + 2 && m[m.length - 1].innerText.trim().length > 0; }",
        arg=before,
        timeout=60_000,
    )
    first = time.perf_counter() - started
    page.wait_for_function(
        "() => { const m = document.querySelectorAll('#qa-chat .message');"
        " return m.length && m[m.length - 1].innerText.includes('answered by'); }",
        timeout=60_000,
    )
    return first, time.perf_counter() - started
