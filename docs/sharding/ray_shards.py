"""BN Lens over a data set with Ray tasks: task i of n runs `bn-lens inspect --shard i/n` on a worker
node and returns its report's JSON; the driver writes the shard reports and merges them.

    python ray_shards.py MODEL DATA --shards 8 --out reports/ [-- extra inspect options]

Every node needs bn-lens on PATH (or BN_LENS=...) and MODEL and DATA at the same paths; the reports
travel through Ray's object store, so no shared folder is needed for them. Exit status is merge's:
3 when a finding reaches --fail-on.
"""
import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile

import ray

BN_LENS = shlex.split(os.environ.get("BN_LENS", "bn-lens"))


@ray.remote(num_cpus=2)
def inspect_shard(model: str, data: str, index: int, count: int, extra: list) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "shard.json")
        cmd = [*BN_LENS, "inspect", model, "--data", data, *extra, "--threads", "2", "--shard", f"{index}/{count}", "--json", out]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"shard {index}/{count} failed: {done.stderr.strip()}")
        return pathlib.Path(out).read_text()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--out", default="reports")
    p.add_argument("--fail-on", default="error")
    p.add_argument("extra", nargs="*", help="inspect options after --, e.g. -- --mean 127 --std 128")
    a = p.parse_args()
    ray.init()
    model, data = os.path.abspath(a.model), os.path.abspath(a.data)
    reports = ray.get([inspect_shard.remote(model, data, i, a.shards, a.extra) for i in range(a.shards)])
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i, text in enumerate(reports):
        f = out / f"shard-{i}.json"
        f.write_text(text)
        files.append(str(f))
    merge = [*BN_LENS, "merge", *files, "--json", str(out / "report.json"), "--sarif", str(out / "report.sarif"), "--fail-on", a.fail_on]
    return subprocess.run(merge).returncode


if __name__ == "__main__":
    sys.exit(main())
