#!/usr/bin/env python3
"""Helper for scripts/bench: the results table.

  bench-helper.py summarize --dir DIR
      Reads DIR/results.tsv (round, case, req/s, p99 ms, non-2xx, socket errors, server CPU
      us per request, whether the machine was busy), DIR/reloads.txt and DIR/memory.tsv (VmRSS,
      VmHWM, RssAnon, RssFile in KiB), prints the table and which targets are met. reloads.txt
      is what examples/reload_timer.rs writes: one line per reload, total_ms start_ms ok.
"""

import argparse
import os
import statistics
import sys


def median(values):
    return statistics.median(values) if values else float("nan")


def verdict(ok):
    return "met" if ok else "MISSED"


LABELS = {
    "bare": "bare: no fairing, GET /",
    "off": "off: fairing attached",
    "on": "on: the 503 page",
    "force_off": "on: force_off route /open",
    "reload": "off, reloading 10/s",
    "bare_open": "bare, GET /open",
    "bare_page": "bare, the 503 page's bytes",
}
# The targets: req/s of the case / req/s of bare.
TARGETS = {"off": 0.98, "on": 0.95, "force_off": 0.95}


def summarize_cmd(args):
    runs = {}  # case -> round -> (rps, p99, cpu)
    failures = {}
    busy = 0
    with open(os.path.join(args.dir, "results.tsv")) as f:
        for line in f:
            rnd, case, rps, p99, non2xx, errors, cpu, was_busy = line.split()
            runs.setdefault(case, {})[int(rnd)] = (float(rps), float(p99), float(cpu))
            expected_non2xx = case in ("on", "bare_page")
            failures[case] = failures.get(case, 0) + int(errors) + (0 if expected_non2xx else int(non2xx))
            busy += int(was_busy)

    def med(case, index):
        return median([v[index] for v in runs[case].values()])

    def ratio(case, base, index=0, invert=False):
        """Median over rounds of case/base (base/case with invert, for costs)."""
        values = []
        for r, v in runs.get(case, {}).items():
            if r in runs.get(base, {}):
                a, b = v[index], runs[base][r][index]
                values.append(b / a if invert else a / b)
        return median(values)

    missed = 0
    print()
    print(
        f"{'case':<29}{'req/s':>9}{'p99 ms':>9}{'CPU us/req':>12}"
        f"{'req/s ratio':>13}{'CPU ratio':>11}  target"
    )
    print("-" * 96)
    for case in ["bare", "off", "on", "force_off", "reload", "bare_open", "bare_page"]:
        if case not in runs:
            continue
        line = (
            f"{LABELS[case]:<29}{med(case, 0):>9.0f}{med(case, 1):>9.2f}{med(case, 2):>12.2f}"
            f"{ratio(case, 'bare'):>13.3f}{ratio(case, 'bare', 2, invert=True):>11.3f}"
        )
        if case in TARGETS:
            ok = ratio(case, "bare") >= TARGETS[case]
            missed += not ok
            line += f"  >= {TARGETS[case]}: {verdict(ok)}"
        print(line)
    rounds = len(runs.get("bare", {}))
    print()
    print(
        f"medians over {rounds} interleaved rounds; ratios are medians of per-round ratios to bare "
        f"(CPU ratio: bare's server CPU per request / the case's, i.e. the throughput ratio a "
        f"server-bound load would show)"
    )
    if busy:
        print(f"note: {busy} run(s) started while the machine was busy with something else")
    disturbed = os.path.join(args.dir, "disturbed.txt")
    if os.path.exists(disturbed):
        with open(disturbed) as f:
            again = len(f.readlines())
        if again:
            print(f"note: {again} run(s) were disturbed by other load and run again")
    if "bare_page" in runs and "on" in runs:
        print(
            f"the same page from a handler vs the fairing's 503: on / bare_page = "
            f"{ratio('on', 'bare_page'):.3f} req/s, {ratio('on', 'bare_page', 2, invert=True):.3f} CPU; "
            f"bare_page / bare = {ratio('bare_page', 'bare'):.3f} req/s"
        )
    if "bare_open" in runs and "force_off" in runs:
        print(
            f"the same route without the fairing: force_off / bare_open = "
            f"{ratio('force_off', 'bare_open'):.3f} req/s, "
            f"{ratio('force_off', 'bare_open', 2, invert=True):.3f} CPU"
        )
    for case in ["bare", "off", "force_off", "bare_open"]:
        if failures.get(case, 0):
            print(f"note: {failures[case]} failed requests in case {case}")

    if "reload" in runs and "off" in runs:
        p99_ratio = ratio("reload", "off", 1)
        reloads = []
        with open(os.path.join(args.dir, "reloads.txt")) as f:
            for line in f:
                total, start, ok = line.split()
                reloads.append((float(total), float(start), int(ok)))
        done = [r for r in reloads if r[2] == 1 and r[0] == r[0]]
        totals = sorted(r[0] for r in done)
        starts = sorted(r[1] for r in done if r[1] == r[1])
        failed_reloads = len(reloads) - len(done)
        failed_requests = failures.get("reload", 0)
        print()
        print("reload: SIGHUP 10 times a second to the off server (demo's config and template):")
        if totals:
            p90 = totals[min(len(totals) - 1, int(0.9 * len(totals)))]
            print(
                f"  signal -> READY=1: median {median(totals):.2f} ms, p90 {p90:.2f} ms, "
                f"max {totals[-1]:.2f} ms, over {len(totals)} reloads "
                f"({failed_reloads} failed or unanswered)"
            )
        if starts:
            print(f"  of which signal -> RELOADING=1 (its MONOTONIC_USEC): median {median(starts):.2f} ms")
        ok = bool(totals) and median(totals) < 5.0 and failed_reloads == 0
        missed += not ok
        print(f"  median < 5 ms, no failed reload: {verdict(ok)}")
        ok = p99_ratio <= 1.2
        missed += not ok
        print(
            f"  request p99 while reloading / without (off): {p99_ratio:.3f} "
            f"({med('reload', 1):.2f} ms / {med('off', 1):.2f} ms), <= 1.2: {verdict(ok)}"
        )
        ok = failed_requests == 0
        missed += not ok
        print(f"  failed requests while reloading: {failed_requests}, 0: {verdict(ok)}")

    memory = os.path.join(args.dir, "memory.tsv")
    if os.path.exists(memory) and os.path.getsize(memory) > 0:
        rss = {}
        with open(memory) as f:
            for line in f:
                name, vmrss, hwm, anon, filed = line.split()
                rss[name] = tuple(int(x) / 1024 for x in (vmrss, hwm, anon, filed))
        names = {
            "demo_pages_bare": "demo's pages, no fairing (bench_app)",
            "demo_pages_fairing": "demo's pages, fairing attached (bench_app)",
            "demo": "the demo itself (examples/demo)",
        }
        print()
        print("resident memory after a load run, MiB:")
        print(f"  {'':<44}{'VmRSS':>8}{'peak':>8}{'anon':>8}{'file':>8}")
        for name, (vmrss, hwm, anon, filed) in rss.items():
            print(f"  {names.get(name, name):<44}{vmrss:>8.2f}{hwm:>8.2f}{anon:>8.2f}{filed:>8.2f}")
        bare, attached = rss.get("demo_pages_bare"), rss.get("demo_pages_fairing")
        if bare and attached:
            diff = attached[0] - bare[0]
            ok = diff <= 1.0
            missed += not ok
            print(
                f"  fairing attached - without: VmRSS {diff:+.2f} MiB (anon {attached[2] - bare[2]:+.2f}, "
                f"file-backed code {attached[3] - bare[3]:+.2f}), <= 1 MiB: {verdict(ok)}"
            )
    print()
    print("all targets met" if missed == 0 else f"{missed} target(s) missed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("summarize")
    s.add_argument("--dir", required=True)
    args = parser.parse_args()
    summarize_cmd(args)


if __name__ == "__main__":
    sys.exit(main())
