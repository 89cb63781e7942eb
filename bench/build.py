"""How long `flask --app server index rebuild` takes at several store sizes.

For each size: the synthetic pack of bench/latency.py (the same seed, so the same snippets),
imported with the real CLI into a fresh REPLYASSIST_HOME, then `index rebuild` run as a real
process and timed from the outside (wall time, including the CLI's ~1-2 s start-up). The
rebuild's own figure (the last line it prints) is kept beside it.

    .venv/bin/python bench/build.py [--sizes 1000,10000,100000] [--workdir DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import make_snippets, progress, sentence_pool, write_pack  # noqa: E402
from server.process import flask_cli  # noqa: E402


def run_size(size: int, workdir: Path, pool: list[str], flows: list[str]) -> dict:
    """Import ``size`` snippets, then time one rebuild."""
    home = workdir / f"home-{size}"
    home.mkdir(parents=True)
    pack = workdir / f"pack-{size}.jsonl"
    write_pack(pack, make_snippets(size, pool, flows))
    started = time.perf_counter()
    flask_cli(home, "pack", "import", str(pack), timeout=None)
    import_s = time.perf_counter() - started
    progress(f"size {size}: imported in {import_s:.1f} s; rebuilding")
    started = time.perf_counter()
    out = flask_cli(home, "index", "rebuild", timeout=None)
    rebuild_s = time.perf_counter() - started
    progress(f"size {size}: {out.strip().splitlines()[-1]} in {rebuild_s:.1f} s ({size / rebuild_s:.0f} docs/s)")
    return {"size": size, "import_s": round(import_s, 2), "rebuild_s": round(rebuild_s, 2),
            "docs_per_s": round(size / rebuild_s, 1), "cpus": os.cpu_count(),
            "rebuild_output": out.strip().splitlines()[-1]}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    pool, flows = sentence_pool()
    workdir = Path(tempfile.mkdtemp(prefix="build-bench-", dir=args.workdir))
    try:
        results = [run_size(int(s), workdir, pool, flows) for s in args.sizes.split(",")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| size | import (s) | rebuild (s) | docs/s |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['size']:,} | {r['import_s']:.1f} | {r['rebuild_s']:.1f} | {r['docs_per_s']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
