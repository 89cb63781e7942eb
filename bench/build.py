"""How long `flask --app server index rebuild` takes at several store sizes.

For each size: the synthetic pack of bench/latency.py (the same seed, so the same snippets),
imported with the real CLI into a fresh REPLYASSIST_HOME, then `index rebuild` run as a real
process and timed from the outside (wall time, including the CLI's start-up). With
``--baseline DIR`` (another checkout, e.g. ``git worktree add /tmp/base main``) each size is
rebuilt alternately by that code and by this one, ``--rounds`` times each, over the same store,
so before and after are measured in the same run on the same (possibly busy) machine.

    .venv/bin/python bench/build.py [--sizes 1000,10000,100000] [--baseline DIR] [--rounds 1]
                                    [--workdir DIR] [--json OUT]
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

from bench.latency import make_snippets, progress, sentence_pool, write_pack  # noqa: E402
from server.process import _env, flask_cli  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rebuild(home: Path, root: Path) -> tuple[float, float, str]:
    """Run `index rebuild` with the code in ``root``: wall time, CPU time (its processes), last line."""
    env = {**_env(home, None), "PYTHONPATH": str(root)}
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "server", "index", "rebuild"],
                            cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"rebuild with {root} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started, _children_cpu() - cpu, result.stdout.strip().splitlines()[-1]


def run_size(size: int, workdir: Path, pool: list[str], flows: list[str], baseline: Path | None,
             rounds: int) -> dict:
    """Import ``size`` snippets, then time rebuilds (alternating with the baseline's)."""
    home = workdir / f"home-{size}"
    home.mkdir(parents=True)
    pack = workdir / f"pack-{size}.jsonl"
    write_pack(pack, make_snippets(size, pool, flows))
    started = time.perf_counter()
    flask_cli(home, "pack", "import", str(pack), timeout=None)
    import_s = time.perf_counter() - started
    progress(f"size {size}: imported in {import_s:.1f} s")
    times: dict[str, list[float]] = {"baseline": [], "this": []}
    cpus: dict[str, list[float]] = {"baseline": [], "this": []}
    for _ in range(rounds):
        for name, root in (("baseline", baseline), ("this", ROOT)):
            if root is None:
                continue
            seconds, cpu, out = rebuild(home, root)
            times[name].append(seconds)
            cpus[name].append(cpu)
            progress(f"size {size}: {name}: {out} in {seconds:.1f} s, {cpu:.1f} s CPU ({size / seconds:.0f} docs/s)")
    best = {name: min(values) for name, values in times.items() if values}
    return {"size": size, "import_s": round(import_s, 2), "cpus": os.cpu_count(),
            "rebuild_s": {name: [round(v, 2) for v in values] for name, values in times.items() if values},
            "cpu_s": {name: [round(v, 2) for v in values] for name, values in cpus.items() if values},
            "best_s": {name: round(v, 2) for name, v in best.items()},
            "best_cpu_s": {name: round(min(v), 2) for name, v in cpus.items() if v}}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout to compare with")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    pool, flows = sentence_pool()
    workdir = Path(tempfile.mkdtemp(prefix="build-bench-", dir=args.workdir))
    try:
        results = [run_size(int(s), workdir, pool, flows, args.baseline, args.rounds)
                   for s in args.sizes.split(",")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| size | import (s) | baseline rebuild: wall / CPU (s) | this rebuild: wall / CPU (s) | wall speed-up |"
          "\n|---|---|---|---|---|")
    for r in results:
        base, this = r["best_s"].get("baseline"), r["best_s"]["this"]
        base_cpu, this_cpu = r["best_cpu_s"].get("baseline"), r["best_cpu_s"]["this"]
        print(f"| {r['size']:,} | {r['import_s']:.1f} | {f'{base} / {base_cpu}' if base else '-'} | "
              f"{this} / {this_cpu} | {f'{base / this:.1f}x' if base else '-'} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
