"""Requests per second the sandbox sustains on loopback, so it is never the
bottleneck of the other benchmarks. Eight client threads for five seconds.

    cd benchmarks && ../.venv/bin/python sandbox_rps.py
"""

from __future__ import annotations

import sys
import threading
import time

import requests

from erpwatch.sandbox import start

THREADS, SECONDS = 8, 5.0


def hammer(url: str, headers: dict[str, str], stop: float, counts: list[int]) -> None:
    session = requests.Session()
    done = 0
    while time.perf_counter() < stop:
        assert session.get(url, headers=headers, timeout=10).status_code == 200
        done += 1
    counts.append(done)


def main() -> int:
    print("| endpoint | requests per second |")
    print("| --- | --- |")
    with start() as sandbox:
        settings = sandbox.settings()
        token = requests.post(
            settings["ERP_TOKEN_URL"],
            data={"grant_type": "client_credentials", "client_id": settings["ERP_CLIENT_ID"],
                  "client_secret": settings["ERP_CLIENT_SECRET"]},
            timeout=10,
        ).json()["access_token"]  # fmt: skip
        company = f"{settings['ERP_BASE_URL']}/companies({settings['ERP_COMPANY_ID']})"
        for name, url, headers in (
            ("GET /_sandbox/health", f"{sandbox.root_url}/_sandbox/health", {}),
            (
                "GET /companies(…)/items (authenticated, 4 KB)",
                f"{company}/items",
                {"Authorization": f"Bearer {token}"},
            ),
        ):
            counts: list[int] = []
            stop = time.perf_counter() + SECONDS
            threads = [
                threading.Thread(target=hammer, args=(url, headers, stop, counts))
                for _ in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(f"| {name} | {sum(counts) / SECONDS:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
