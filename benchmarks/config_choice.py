"""Why erpwatch's settings use a small schema layer of their own, not pydantic v2 +
pydantic-settings: the two things issue 15 asked to measure.

1. What a test worker pays: CPU time of ``import erpwatch.plugin`` (every pytest
   run that loads erpwatch, dormant or not) and of that plus ``load_settings`` of
   the repository's erpwatch.toml (a monitoring worker), in fresh interpreters
   with bytecode cached, median and minimum of RUNS; and the same for
   ``pydantic_settings`` with a two-model schema, which a worker would pay on top.
   ``--against SRC`` measures another checkout's ``src`` side by side (e.g. the
   commit before the config package) on the same, shared and noisy, machine.
2. The one-line errors: what pydantic says for values erpwatch refuses today
   (``timeout = true``, ``"30"``, ``inf``), next to erpwatch's own line.

pydantic is not a dependency of erpwatch; give an interpreter that has it:

    .venv/bin/python benchmarks/config_choice.py [--against SRC] [PYTHON_WITH_PYDANTIC_SETTINGS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = 21
ROOT = Path(__file__).resolve().parent.parent
TIMED = (
    "import time; t = time.process_time(); exec({code!r}); print((time.process_time() - t) * 1000)"
)
WORKER = "import erpwatch.plugin"
MONITORING_WORKER = (
    "import erpwatch.plugin; from erpwatch.config import load_settings; "
    f"load_settings(__import__('pathlib').Path({str(ROOT / 'erpwatch.toml')!r}), {{}})"
)
MODEL = """
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings
class Erp(BaseModel):
    timeout: float = Field(30.0, gt=0, le=3600)
    connect_timeout: float = Field(5.0, gt=0, le=3600)
class Env(BaseSettings):
    erp_base_url: str = ""
    smtp_port: int = 587
"""


def cpu_ms(python: str, code: str, src: str | None = None) -> float:
    # Bytecode as an installed package has it: written once, then read.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src:
        env["PYTHONPATH"] = src
    done = subprocess.run(
        [python, "-c", TIMED.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(done.stdout)


def pydantic_errors(python: str) -> list[str]:
    script = (
        MODEL
        + """
from pydantic import ValidationError
for value in (True, "30", float("inf")):
    try:
        Erp(timeout=value)
        print(f"timeout = {value!r}: accepted")
    except ValidationError as error:
        print(f"timeout = {value!r}: " + str(error).replace(chr(10), " | "))
"""
    )
    done = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def erpwatch_errors() -> list[str]:
    from erpwatch.config import ConfigError, load_settings

    lines = []
    with tempfile.TemporaryDirectory() as folder:
        for value in ("true", '"30"', "inf"):
            path = Path(folder) / "erpwatch.toml"
            path.write_text(f"[erp]\ntimeout = {value}\n")
            try:
                load_settings(path, {})
                lines.append(f"timeout = {value}: accepted")
            except ConfigError as error:
                lines.append(f"timeout = {value}: {error}")
    return lines


def main(args: list[str]) -> int:
    against = None
    if args[:1] == ["--against"]:
        against, args = args[1], args[2:]
    candidate = args[0] if args else None
    rows: dict[str, tuple[str, str, str | None]] = {
        "import erpwatch.plugin": (sys.executable, WORKER, None),
        "import erpwatch.plugin + load_settings": (sys.executable, MONITORING_WORKER, None),
    }
    if against:
        rows["import erpwatch.plugin (--against)"] = (sys.executable, WORKER, against)
        rows["import erpwatch.plugin + load_settings (--against)"] = (
            sys.executable,
            MONITORING_WORKER,
            against,
        )
    if candidate:
        rows["import pydantic_settings + a two-model schema"] = (candidate, MODEL, None)
    times: dict[str, list[float]] = {name: [] for name in rows}
    for python, code, src in rows.values():
        cpu_ms(python, code, src)  # writes the bytecode
    for _ in range(RUNS):  # interleaved: the machine's noise hits every row alike
        for name, (python, code, src) in rows.items():
            times[name].append(cpu_ms(python, code, src))
    print(f"| CPU time, fresh interpreter ({RUNS} runs) | median ms | min ms |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.0f} | {min(values):.0f} |")
    print()
    print("erpwatch:", *erpwatch_errors(), sep="\n  ")
    if candidate:
        print("pydantic v2:", *pydantic_errors(candidate), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
