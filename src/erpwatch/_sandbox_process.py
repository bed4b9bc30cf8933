"""Starts the built-in sandbox as its own program, the way a live ERP is
another program: monitors reach it only over a loopback socket."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass


class SandboxStartError(Exception):
    """The built-in sandbox did not come up."""


@dataclass
class SandboxProcess:
    process: subprocess.Popen[str]
    settings: dict[str, str]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        # Closing its standard input is the sandbox's signal to stop.
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_sandbox(timeout: float = 30.0) -> SandboxProcess:
    command = [
        sys.executable,
        "-m",
        "erpwatch.sandbox",
        "--port",
        "0",
        "--json",
        "--exit-with-stdin",
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Out of the terminal's process group: Ctrl+C stops the monitors, whose
        # cleanup still needs the sandbox. It ends when its stdin closes, that is
        # when this run ends, however it ends.
        start_new_session=True,
    )
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    line = first_line[0] if first_line else ""
    try:
        settings = json.loads(line)
        if not isinstance(settings, dict) or "ERP_BASE_URL" not in settings:
            raise ValueError(line)
    except ValueError:
        process.kill()
        _, stderr = process.communicate()
        detail = (stderr or "").strip().splitlines()[-1:] or [f"no answer within {timeout:.0f} s"]
        raise SandboxStartError(f"the built-in sandbox did not start: {detail[0]}") from None
    return SandboxProcess(process=process, settings={str(k): str(v) for k, v in settings.items()})
