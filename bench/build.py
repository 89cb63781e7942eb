"""How long `flask --app server index rebuild` takes at several store sizes.

For each size: the synthetic pack of bench/latency.py (the same seed, so the same snippets),
imported with the real CLI into a fresh REPLYASSIST_HOME, then `index rebuild` run as a real
process and timed from the outside (wall time, including the CLI's start-up). With
``--baseline DIR`` (another checkout, e.g. ``git worktree add /tmp/base main``) each size is
rebuilt alternately by that code and by this one, ``--rounds`` times each, over the same store,
so before and after are measured in the same run on the same (possibly busy) machine.

    .venv/bin/python bench/build.py [--sizes 1000,10000,100000] [--baseline DIR] [--rounds 1]
                                    [--workdir DIR] [--store-cache DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import imported_home, make_snippets, progress, sentence_pool, write_pack  # noqa: E402
from server.process import _env, flask_cli  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


GOALS_S = {10_000: 8.0, 100_000: 90.0}  # issue 10: rebuild wall time on 2 cores


def rebuild(home: Path, root: Path) -> tuple[float, float, float, str]:
    """Run `index rebuild` with the code in ``root``: wall time, CPU time (all its processes),
    peak RSS in MB of its largest process, and its last line of output."""
    env = {**_env(home, None), "PYTHONPATH": str(root)}
    cpu = _children_cpu()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "server", "index", "rebuild"],
                                   cwd=root, env=env, stdout=out, stderr=err, text=True)
        # wait4: this child's own usage, its build processes folded in (Linux: the larger maxrss).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"rebuild with {root} failed:\n{stderr[-3000:]}")
    return seconds, _children_cpu() - cpu, usage.ru_maxrss / 1024, stdout.strip().splitlines()[-1]


def run_size(size: int, workdir: Path, pool: list[str], flows: list[str], baseline: Path | None,
             rounds: int, cache: Path | None = None) -> dict:
    """Import ``size`` snippets (or reuse a cached import), then time rebuilds (alternating with the baseline's)."""
    pack = workdir / f"pack-{size}.jsonl"
    write_pack(pack, make_snippets(size, pool, flows))
    home, import_s = imported_home(size, pack, workdir, cache)
    times: dict[str, list[float]] = {"baseline": [], "this": []}
    cpus: dict[str, list[float]] = {"baseline": [], "this": []}
    peaks: dict[str, list[float]] = {"baseline": [], "this": []}
    for _ in range(rounds):
        for name, root in (("baseline", baseline), ("this", ROOT)):
            if root is None:
                continue
            seconds, cpu, peak, out = rebuild(home, root)
            times[name].append(seconds)
            cpus[name].append(cpu)
            peaks[name].append(peak)
            progress(f"size {size}: {name}: {out} in {seconds:.1f} s, {cpu:.1f} s CPU ({size / seconds:.0f} docs/s), "
                     f"peak RSS {peak:.0f} MB")
    best = {name: min(values) for name, values in times.items() if values}
    return {"size": size, "import_s": round(import_s, 2), "cpus": os.cpu_count(),
            "rebuild_s": {name: [round(v, 2) for v in values] for name, values in times.items() if values},
            "cpu_s": {name: [round(v, 2) for v in values] for name, values in cpus.items() if values},
            "best_s": {name: round(v, 2) for name, v in best.items()},
            "best_cpu_s": {name: round(min(v), 2) for name, v in cpus.items() if v},
            "peak_rss_mb": {name: round(max(v)) for name, v in peaks.items() if v}}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--store-cache", type=Path, default=None,
                        help="keep imported stores here and reuse them in later runs (same size and pack)")
    args = parser.parse_args(argv)
    pool, flows = sentence_pool()
    workdir = Path(tempfile.mkdtemp(prefix="build-bench-", dir=args.workdir))
    try:
        results = [run_size(int(s), workdir, pool, flows, args.baseline, args.rounds, args.store_cache)
                   for s in args.sizes.split(",")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| size | import (s) | baseline rebuild: wall / CPU (s), peak RSS MB | this rebuild: wall / CPU (s), "
          "peak RSS MB | wall speed-up | goal (wall, 2 cores) | |\n|---|---|---|---|---|---|---|")
    for r in results:
        base, this = r["best_s"].get("baseline"), r["best_s"]["this"]
        base_cpu, this_cpu = r["best_cpu_s"].get("baseline"), r["best_cpu_s"]["this"]
        base_rss, this_rss = r["peak_rss_mb"].get("baseline"), r["peak_rss_mb"]["this"]
        goal = GOALS_S.get(r["size"])
        verdict = "-" if goal is None else "PASS" if this <= goal else "MISS"
        print(f"| {r['size']:,} | {r['import_s']:.1f} | {f'{base} / {base_cpu}, {base_rss}' if base else '-'} | "
              f"{this} / {this_cpu}, {this_rss} | {f'{base / this:.1f}x' if base else '-'} "
              f"| {f'<= {goal:g} s' if goal else '-'} | {verdict} |")
    print(f"\n{os.cpu_count()} cores; wall time includes the CLI's start-up; CPU is every process of the rebuild")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
