"""`erpwatch fleet` with 1, 10, 25 and 50 clients against sandboxes whose ERP
calls take 200 ms, side by side with the slowest single client's own run
(`pytest monitors --erpwatch-config clients/x/erpwatch.toml -n auto`, how one
client runs today), all in this one run: wall time, the ratio to that client,
peak memory of the fleet's whole process tree, where the time goes, and what
GitHub Actions bills per client per month at a 15-minute schedule.

The sandbox's `slow` fault holds every Business Central call and the token for
200 ms; the payment provider and the punchout shop answer at loopback speed.
One sandbox per client, as each real client has its own ERP and provider: the
payment reconciliation monitor compares everything the provider holds with the
ERP, so clients sharing a sandbox see each other's payments half-way and fail
(1 of 25 did in a trial with one sandbox for all).

    cd benchmarks && ../.venv/bin/python fleet.py
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "clients" / "brasserie-de-gouden-leeuw" / "erpwatch.toml"
# Another set of counts on the command line (fleet.py 25), to look into one.
COUNTS = tuple(int(a) for a in sys.argv[1:]) or (1, 10, 25, 50)
DELAY = 0.2  # every ERP call (Business Central routes and the token) waits this long
SINGLES = 3  # clients whose own run is measured; the slowest is the baseline
TARGET_CLIENTS, TARGET_RATIO = 25, 2.0
# Not measurable here: what a job costs before the monitors start (runner start,
# checkout, setup-python with the pip cache, `pip install -e .`). An assumption.
JOB_SETUP_SECONDS = 30.0
RUNS_PER_MONTH = 96 * 30  # every 15 minutes, 30 days
SAMPLE_EVERY = 0.5  # a sample costs ~20 ms of CPU with 16 clients running
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
# Settings this machine's environment may hold that would point a run elsewhere.
_FOREIGN = ("ERP_", "ERPWATCH_", "PYTEST_", "PSP_", "PAYMENT_", "PUNCHOUT_", "OCI_", "SMTP_",
            "MAIL_", "TRYTON_", "GITHUB_", "CLIENT_EMAILS", "ERP_PARTNER_EMAILS",
            "MAINTAINER_EMAILS")  # fmt: skip


def clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    # A CI job writes bytecode at its first import and every later process reads
    # it; with PYTHONDONTWRITEBYTECODE (set on some development machines) every
    # client process would compile erpwatch's modules again, which doubled the
    # fleet's time in a trial: not what a runner does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # This venv has the test extras; hypothesis' pytest plugin imports hypothesis
    # in every session (0.3 s of CPU), which the workflow's `pip install -e .`
    # does not install. Both sides of every comparison run without it.
    env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest"
    return env


# -- the sandboxes -------------------------------------------------------------


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    settings: dict[str, str]

    def cpu_seconds(self) -> float:
        return _stat(self.process.pid)[1]


def start_sandboxes(count: int, env: dict[str, str]) -> list[Sandbox]:
    """``count`` sandboxes, started together, each slowing every ERP call."""
    command = [sys.executable, "-m", "erpwatch.sandbox", "--port", "0", "--json",
               "--exit-with-stdin", "--fault", f"slow,delay={DELAY}"]  # fmt: skip
    started = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(count)
    ]
    sandboxes = []
    for process in started:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("a sandbox did not start: run python -m erpwatch.sandbox to see why")
        sandboxes.append(Sandbox(process, json.loads(line)))
    return sandboxes


def stop_sandboxes(sandboxes: list[Sandbox]) -> None:
    for sandbox in sandboxes:
        assert sandbox.process.stdin is not None
        sandbox.process.stdin.close()  # --exit-with-stdin
    for sandbox in sandboxes:
        try:
            sandbox.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.process.kill()


# -- the project ---------------------------------------------------------------


def client_name(number: int) -> str:
    return f"client-{number:02d}"


def make_project(sandboxes: list[Sandbox]) -> Path:
    """The repository's monitors, conftest.py and pyproject.toml, and one client per
    sandbox: the example client's erpwatch.toml, its .env the sandbox's lines."""
    folder = Path(tempfile.mkdtemp(prefix="erpwatch-bench-fleet-"))
    shutil.copytree(ROOT / "monitors", folder / "monitors",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    config = TEMPLATE.read_text()
    for number, sandbox in enumerate(sandboxes, start=1):
        client = folder / "clients" / client_name(number)
        client.mkdir(parents=True)
        (client / "erpwatch.toml").write_text(config)
        (client / ".env").write_text("".join(f"{k}={v}\n" for k, v in sandbox.settings.items()))
    return folder


# -- the process tree: memory and CPU ------------------------------------------


def _stat(pid: int) -> tuple[int, float]:
    """The parent pid and the CPU seconds (user + system) of ``pid``."""
    with open(f"/proc/{pid}/stat") as stream:
        text = stream.read()
    rest = text[text.rindex(")") + 2 :].split()  # the name may hold spaces
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / TICK


def _memory(pid: int) -> tuple[int, bool]:
    """Bytes of ``pid``: its Pss (shared pages divided among the sharers, so
    forked processes are not counted twice), or its RSS where Pss is not readable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024, True
    except OSError:
        pass
    with open(f"/proc/{pid}/statm") as stream:
        return int(stream.read().split()[1]) * PAGE, False


@dataclass
class TreeSampler:
    """Samples a process and all its descendants every SAMPLE_EVERY seconds."""

    root: int
    peak_bytes: int = 0
    peak_processes: int = 0
    samples: int = 0
    sample_seconds: float = 0.0
    rss_fallbacks: int = 0
    cpu: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(SAMPLE_EVERY):
                return

    def sample(self) -> None:
        began = time.thread_time()
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    parent, _ = _stat(int(entry.name))
                except (OSError, ValueError, IndexError):
                    continue  # ended meanwhile
                children.setdefault(parent, []).append(int(entry.name))
        tree, total = [self.root], 0
        for pid in tree:
            tree.extend(children.get(pid, ()))
        for pid in tree:
            try:
                _, cpu = _stat(pid)
                size, pss = _memory(pid)
            except (OSError, ValueError, IndexError):
                continue
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
            self.rss_fallbacks += not pss
            total += size
        self.peak_bytes = max(self.peak_bytes, total)
        self.peak_processes = max(self.peak_processes, len(tree))
        self.samples += 1
        self.sample_seconds += time.thread_time() - began

    @property
    def cpu_seconds(self) -> float:
        """CPU of every process seen, as last sampled: a little short of the truth
        (at most one interval per process)."""
        return sum(self.cpu.values())


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    processes: int
    cpu_seconds: float
    memory: str
    sample_ms: float  # the CPU one sample of the tree took, on average
    machine_busy: float  # of every core, by anyone, during the run (/proc/stat)


def _machine() -> tuple[int, int]:
    """Busy and total jiffies of every core since boot."""
    with open("/proc/stat") as stream:
        values = [int(v) for v in stream.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def measure(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Measured:
    busy, total = _machine()
    began = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        with TreeSampler(process.pid) as sampler:
            code = process.wait(timeout=1800)
    seconds = time.perf_counter() - began
    busy_after, total_after = _machine()
    if code != 0:
        raise SystemExit(f"{' '.join(command[:4])}… exited {code}; see {log}")
    memory = "Pss" if sampler.rss_fallbacks == 0 else "RSS (Pss not readable)"
    return Measured(seconds, sampler.peak_bytes / 2**20, sampler.peak_processes,
                    sampler.cpu_seconds, memory,
                    sampler.sample_seconds / max(1, sampler.samples) * 1000,
                    (busy_after - busy) / max(1, total_after - total))  # fmt: skip


# -- one client in a forked child, for the profile -----------------------------

# What a fleet child pays: the forkserver has imported _PRELOAD before it forks,
# so only pytest.main counts; run in its own process so nothing else is warm.
CHILD = """
import json, resource, sys, time
from erpwatch.fleet._runner import _PRELOAD, _QUIET
for name in _PRELOAD:
    __import__(name)
import pytest
def used():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
cpu, began = used(), time.perf_counter()
code = pytest.main([*sys.argv[1:], "-p", "no:cacheprovider", "-q", "-W", _QUIET])
print(json.dumps({"code": int(code), "cpu": used() - cpu, "wall": time.perf_counter() - began}),
      file=sys.__stderr__)
"""


def slowed_calls(summary: Path) -> int:
    """Calls of the run that the sandbox slowed: the ERP's API and its token."""
    monitors = json.loads(summary.read_text())["monitors"]
    return sum(
        "/api/v2.0" in e["url"] or "/oauth2/" in e["url"] for m in monitors for e in m["exchanges"]
    )


def minutes(seconds: float) -> int:
    """GitHub bills a job by the started minute."""
    return math.ceil(seconds / 60)


def main() -> int:
    env = clean_environment()
    cores = os.cpu_count() or 1
    erpwatch = Path(sys.executable).with_name("erpwatch")
    fleet_command = [str(erpwatch)] if erpwatch.exists() else [
        sys.executable, "-c", "import sys; from erpwatch.cli import main; sys.exit(main())"]  # fmt: skip
    began = time.perf_counter()
    sandboxes = start_sandboxes(max(COUNTS), env)
    try:
        project = make_project(sandboxes)
        logs = project / "logs"
        logs.mkdir()
        print(
            f"{len(sandboxes)} sandboxes (one per client), each slowing every ERP call by "
            f"{DELAY * 1000:.0f} ms; project {project}; set up in {time.perf_counter() - began:.0f} s\n"
        )

        def single(number: int, reports: str) -> Measured:
            name = client_name(number)
            return measure(
                [sys.executable, "-m", "pytest", "monitors", "--erpwatch-config",
                 f"clients/{name}/erpwatch.toml", "-n", "auto"],
                project, {**env, "ERPWATCH_REPORTS": str(project / reports / name)},
                logs / f"{reports}-{name}.log",
            )  # fmt: skip

        single(max(COUNTS), "warm-up")  # bytecode written, as after a runner's first import
        singles = {number: single(number, "single") for number in range(1, SINGLES + 1)}
        slowest = max(singles.values(), key=lambda m: m.seconds)

        fleets: dict[int, Measured] = {}
        sandbox_cpu: dict[int, float] = {}

        def fleet(count: int, *options: str) -> tuple[Measured, float]:
            before = sum(s.cpu_seconds() for s in sandboxes[:count])
            reports = project / f"fleet-{count}{''.join(options)}"
            run = measure(
                [*fleet_command, "fleet", "--reports", str(reports), *options,
                 "--clients", ",".join(client_name(n) for n in range(1, count + 1))],
                project, env, logs / f"{reports.name}.log",
            )  # fmt: skip
            entries = json.loads((reports / "fleet.json").read_text())["clients"]
            assert all(e["end"] == "passed" for e in entries), entries
            return run, sum(s.cpu_seconds() for s in sandboxes[:count]) - before

        for count in COUNTS:
            fleets[count], sandbox_cpu[count] = fleet(count)

        # One client as a fleet child runs it: what it costs in CPU, what it waits.
        child = subprocess.run(
            [sys.executable, "-c", CHILD, "monitors", "--erpwatch-config",
             f"clients/{client_name(1)}/erpwatch.toml"],
            cwd=project, env={**env, "ERPWATCH_REPORTS": str(project / "child")},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        child_run = json.loads(child.stderr.strip().splitlines()[-1])
        assert child_run["code"] == 0, child.stdout[-2000:]
        calls = slowed_calls(project / "child" / "summary.json")
        shutil.rmtree(project)  # 60 runs' reports; kept when a run failed, to look into
    finally:
        stop_sandboxes(sandboxes)

    jobs = 64  # erpwatch fleet's default bound: every client at once, at most 64
    base = slowest.seconds
    print("| run | clients | wall time | ratio to slowest single | peak memory | processes "
          "at peak | CPU of its tree | sandboxes' CPU | machine busy |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    others = ", ".join(f"{m.seconds:.1f} s" for m in singles.values())
    print(f"| one client, `pytest -n auto` (slowest of {SINGLES}: {others}) | 1 | {base:.1f} s "
          f"| 1.00 | {slowest.peak_mb:.0f} MB | {slowest.processes} | {slowest.cpu_seconds:.1f} s "
          f"| | {slowest.machine_busy:.0%} |")  # fmt: skip
    rows = [(count, min(jobs, count), run, sandbox_cpu[count]) for count, run in fleets.items()]
    for count, bound, run, sandboxes_cpu in rows:
        how = f"--jobs {bound}" if bound > min(jobs, count) else f"at most {bound} at a time"
        print(f"| `erpwatch fleet`, {how} | {count} "
              f"| {run.seconds:.1f} s | {run.seconds / base:.2f} | {run.peak_mb:.0f} MB "
              f"| {run.processes} | {run.cpu_seconds:.1f} s | {sandboxes_cpu:.1f} s "
              f"| {run.machine_busy:.0%} |")  # fmt: skip
    print(f"\nMemory: {slowest.memory} summed over the process tree, sampled every {SAMPLE_EVERY} s "
          f"(a sample costs {max(r.sample_ms for r in fleets.values()):.1f} ms CPU at most); "
          "CPU of the tree: each process's as last sampled (short by at most one interval "
          "each). Machine busy: every core, anyone's work (/proc/stat).")  # fmt: skip
    if TARGET_CLIENTS in fleets:
        ratio = fleets[TARGET_CLIENTS].seconds / base
        print(f"Target: {TARGET_CLIENTS} clients within {TARGET_RATIO:.0f}x of the slowest single "
              f"client on {cores} cores: {ratio:.2f}x, {'met' if ratio <= TARGET_RATIO else 'MISSED'}.")  # fmt: skip
        if 1 in fleets:
            # `pytest -n auto` spreads one client's monitors over two workers; a fleet runs
            # each client's monitors one after another and spreads the clients instead.
            alone = fleets[TARGET_CLIENTS].seconds / fleets[1].seconds
            print(f"Against the same client alone through the fleet ({fleets[1].seconds:.1f} s, its "
                  f"monitors one after another): {alone:.2f}x.")  # fmt: skip
    if {1, 10} <= set(fleets):
        per_client = (fleets[10].peak_mb - fleets[1].peak_mb) / 9
        print(f"Memory grows {per_client:.0f} MB per client running at once (1 -> 10): "
              + ", ".join(f"{r.peak_mb:.0f} MB at {c}" for c, r in fleets.items())
              + f"; at most {jobs} run at once, so it stops growing there.")  # fmt: skip

    wait = calls * DELAY
    print(f"\nWhere the time goes: one client in a process like a fleet child (the forkserver's "
          f"imports done): {child_run['wall']:.1f} s, {child_run['cpu']:.2f} s of it CPU, "
          f"{calls} slowed ERP calls = {wait:.1f} s of it waiting.")  # fmt: skip
    for count, run in fleets.items():
        work = run.cpu_seconds + sandbox_cpu[count]
        waves = math.ceil(count / jobs)
        print(f"  {count} clients: {run.seconds:.1f} s; CPU needed {work:.1f} s (tree + sandboxes) "
              f"= {work / cores:.1f} s on {cores} cores; waiting alone {waves} x "
              f"{child_run['wall']:.1f} s = {waves * child_run['wall']:.1f} s")  # fmt: skip

    print(f"\nGitHub Actions, every 15 minutes ({RUNS_PER_MONTH:,} runs a month), billed by the "
          f"started minute. ASSUMED, not measured: {JOB_SETUP_SECONDS:.0f} s per job before the "
          "monitors run (runner, checkout, setup-python with the pip cache, pip install -e .).\n")  # fmt: skip
    print("| how | job time | billed per job | minutes per client per month |")
    print("| --- | --- | --- | --- |")
    before = minutes(JOB_SETUP_SECONDS + base) * RUNS_PER_MONTH
    print(f"| before: a job per client | {JOB_SETUP_SECONDS:.0f} s + {base:.1f} s "
          f"| {minutes(JOB_SETUP_SECONDS + base)} min | {before:,} |")  # fmt: skip
    for count, run in fleets.items():
        job = JOB_SETUP_SECONDS + run.seconds
        each = minutes(job) * RUNS_PER_MONTH / count
        print(f"| after: one job for {count} client{'s' if count > 1 else ''} | {JOB_SETUP_SECONDS:.0f} s "
              f"+ {run.seconds:.1f} s | {minutes(job)} min | {each:,.0f} |")  # fmt: skip
    print(f"\n(fleet.py: {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
