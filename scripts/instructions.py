#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: repeatable to about 0.1 %, whatever else the
machine is doing, unlike times.

Each case is a release `bench_app` server (examples/bench_app.rs) run under
`valgrind --tool=callgrind` twice, serving N1 and then N2 sequential keep-alive requests to one
path; the instructions per request are (I(N2) - I(N1)) / (N2 - N1), so start-up and shutdown
cancel out; the median of five such pairs is taken. Then the ratios the performance targets are stated in:

  noop / bare            a do-nothing request+response fairing: Rocket's own charge
  off / bare             maintenance off vs the app without the fairing          (<= 1.015)
  on / page              the 503 vs the same page and headers from a handler      (<= 1.03)
  on / template          the 503 vs a page of the tutorial's kind rendered by
                         rocket_dyn_templates (the demo's index)                  (<= 0.85)
  force_off / bare_open  a force_off route during maintenance vs the same route
                         without the fairing                                      (<= 1.05)

Usage: scripts/instructions.py BIN WORKDIR   (scripts/bench calls it; WORKDIR holds Rocket.toml,
templates/ and page503.html). Needs valgrind.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import time

N1, N2 = int(os.environ.get("BENCH_INSN_N1", "200")), int(os.environ.get("BENCH_INSN_N2", "1200"))
PORT = int(os.environ.get("BENCH_INSN_PORT", "18190"))


def wait_for_port(port, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run(binary, workdir, mode, path, env, requests):
    out = os.path.join(workdir, f"callgrind.{mode}.{abs(hash((path, tuple(env.items()))))}.{requests}")
    e = dict(os.environ)
    e.update(env)
    e.update({
        "ROCKET_CONFIG": os.path.join(workdir, "Rocket.toml"),
        "ROCKET_ADDRESS": "127.0.0.1",
        "ROCKET_PORT": str(PORT),
        "ROCKET_WORKERS": "1",
        "ROCKET_LOG_LEVEL": "off",
        "ROCKET_CLI_COLORS": "false",
    })
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, mode],
        cwd=workdir, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(PORT, proc)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        status = None
        for _ in range(requests):
            conn.request("GET", path, headers={"Accept": "text/html"})
            response = conn.getresponse()
            response.read()
            status = response.status
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    with open(out) as f:
        text = f.read()
    os.remove(out)
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
    if not match:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1)), status


RUNS = int(os.environ.get("BENCH_INSN_RUNS", "5"))


def per_request(binary, workdir, mode, path, env=None):
    """The median of RUNS measurements: single figures wander by up to 0.6 %, nearly all of it in
    glibc's allocator (how often it consolidates free chunks depends on the heap's layout, which
    differs from run to run with the hash seeds of start-up); the median of five by much less."""
    env = env or {}
    figures = []
    for _ in range(RUNS):
        i1, _ = run(binary, workdir, mode, path, env, N1)
        i2, status = run(binary, workdir, mode, path, env, N2)
        figures.append((i2 - i1) / (N2 - N1))
    figures.sort()
    return figures[len(figures) // 2], status


def main():
    binary, workdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    page = {"BENCH_APP_PAGE": os.path.join(workdir, "page503.html")}
    cases = [
        ("bare", "bare", "/", page),
        ("noop", "noop", "/", {}),
        ("off", "off", "/", {}),
        ("page", "bare", "/page", page),
        ("on", "on", "/", {}),
        ("template", "bare", "/", {"BENCH_APP_PAGES": "demo"}),
        ("bare_open", "bare", "/open", page),
        ("force_off", "on", "/open", {}),
    ]
    only = set(filter(None, os.environ.get("BENCH_INSN_CASES", "").split(",")))
    if only:
        cases = [c for c in cases if c[0] in only]
    counts = {}
    print(f"== instructions per request (callgrind; ({N2} - {N1}) requests, one worker, median of {RUNS})")
    for name, mode, path, env in cases:
        n, status = per_request(binary, workdir, mode, path, env)
        counts[name] = n
        print(f"  {name:<10} {mode:<5} GET {path:<6} {status}  {n:>10,.0f}")
    print("== ratios (target)")
    for label, a, b, target in [
        ("noop / bare", "noop", "bare", None),
        ("off / bare", "off", "bare", 1.015),
        ("on / page", "on", "page", 1.03),
        ("on / template", "on", "template", 0.85),
        ("force_off / bare_open", "force_off", "bare_open", 1.05),
    ]:
        if a not in counts or b not in counts:
            continue
        ratio = counts[a] / counts[b]
        if target is None:
            print(f"  {label:<22} {ratio:.4f}  (what Rocket charges for any request+response fairing)")
            continue
        verdict = "met" if ratio <= target else "NOT met"
        print(f"  {label:<22} {ratio:.4f}  (<= {target}: {verdict})")


if __name__ == "__main__":
    main()
