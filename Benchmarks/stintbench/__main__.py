"""Run every benchmark section and write the Markdown page. Usage: python3 -m stintbench --help."""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import durable, host, lifecycle, listing, report
from .raw_qemu import RawMachine


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(prog="stintbench", description=__doc__)
    parser.add_argument("--stint", required=True, help="path of the release stint binary")
    parser.add_argument("--durable-benchmark", required=True, help="path of the DurableWriteBenchmark binary")
    parser.add_argument("--output", required=True, help="Markdown file to write")
    parser.add_argument("--image-dir", default="/tmp/stint-test-images", help="guest image cache (STINT_IMAGE_DIR)")
    parser.add_argument("--rounds", type=int, default=5, help="lifecycle rounds (default 5)")
    parser.add_argument("--uptime", type=float, default=6.0, help="guest uptime in seconds before standby")
    parser.add_argument("--sizes", default="1000,10000", help="instance counts for the listing section")
    parser.add_argument("--wrk-runs", type=int, default=3, help="wrk runs per server and size")
    parser.add_argument("--startup-runs", type=int, default=5, help="runs of ps, server start and cat")
    parser.add_argument("--iterations", type=int, default=200, help="durable write samples")
    parser.add_argument("--findings", help="Markdown file appended under 'Findings' (profiles, causes)")
    parser.add_argument("--command", default="Benchmarks/run.sh", help="command line recorded in the page")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--save-results", help="also write the raw samples to this JSON file")
    parser.add_argument(
        "--from-results", help="render the page from a JSON file written by --save-results instead of measuring"
    )
    return parser.parse_args()


def git_commit(directory):
    completed = subprocess.run(
        ["git", "-C", directory, "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return completed.stdout.strip() or "unknown"


def write_page(arguments, context):
    if arguments.findings and os.path.exists(arguments.findings):
        with open(arguments.findings) as handle:
            context["notes"] = handle.read().strip().splitlines()
    with open(arguments.output, "w") as handle:
        handle.write(report.render(context))


def main():
    arguments = parse_arguments()
    if arguments.from_results:
        with open(arguments.from_results) as handle:
            write_page(arguments, json.load(handle))
        log(f"wrote {arguments.output} from {arguments.from_results}")
        return
    started = time.monotonic()
    # A short path keeps DATA/instances/ID/qmp.sock under the 107-byte limit of Unix socket paths.
    work_dir = tempfile.mkdtemp(prefix="stint-bench-", dir="/tmp")
    cli = lifecycle.StintCLI(arguments.stint, os.path.join(work_dir, "data"), arguments.image_dir)
    context = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": arguments.command,
        "machine": host.describe_machine("qemu-system-x86_64"),
        "commit": git_commit(os.path.dirname(os.path.abspath(arguments.output))),
        "guest_program": lifecycle.GUEST_PROGRAM,
        "uptime": arguments.uptime,
        "wrk_runs": arguments.wrk_runs,
        "loads": [],
    }
    try:
        context["loads"].append(("lifecycle", host.load_average()))
        log(f"lifecycle: {arguments.rounds} rounds in {work_dir}, load {context['loads'][-1][1]}")
        context["lifecycle"] = lifecycle.run(cli, work_dir, arguments.rounds, arguments.uptime, log)
        templates_dir = os.path.join(work_dir, "templates")

        context["loads"].append(("durable writes", host.load_average()))
        log("durable writes")
        context["durable"] = durable.run(
            arguments.durable_benchmark, work_dir, arguments.iterations, os.path.join(templates_dir, "standby.json")
        )

        templates = []
        for name in ("stopped.json", "standby.json"):
            with open(os.path.join(templates_dir, name)) as handle:
                text = handle.read()
            parsed = json.loads(text)
            templates.append({"text": text, "id": parsed["id"], "name": parsed["name"]})
        log("listing")
        sizes = [int(size) for size in arguments.sizes.split(",")]
        context["listing"] = listing.run(
            lambda data_dir: lifecycle.StintCLI(arguments.stint, data_dir, arguments.image_dir),
            work_dir, templates, sizes, arguments.wrk_runs, arguments.startup_runs, log,
        )
    finally:
        RawMachine.kill_all()
        for name in ["bench-source"] + [f"bench-fork-{index}" for index in range(arguments.rounds)]:
            cli.run("rm", "--force", name, check=False)
        if not arguments.keep:
            shutil.rmtree(work_dir, ignore_errors=True)

    context["elapsed"] = time.monotonic() - started
    if arguments.save_results:
        with open(arguments.save_results, "w") as handle:
            json.dump(context, handle, indent=1)
    write_page(arguments, context)
    log(f"wrote {arguments.output} after {context['elapsed']:.0f} s")


if __name__ == "__main__":
    main()
