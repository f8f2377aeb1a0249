"""Writes docs/benchmarks.md from the collected samples."""

import shlex
import statistics

from .stats import summarize


def milliseconds(seconds):
    if seconds < 0.001:
        return f"{seconds * 1000:.3f} ms"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def spread(samples, kind="range"):
    """Format the median with min–max (`range`) or p10–p90 (`percentiles`) of samples in seconds."""
    summary = summarize(samples)
    low, high = (summary["min"], summary["max"]) if kind == "range" else (summary["p10"], summary["p90"])
    label = "" if kind == "range" else "p10–p90 "
    return f"{milliseconds(summary['median'])} ({label}{milliseconds(low)}–{milliseconds(high)}, n={summary['count']})"


def verdict(met):
    """The target cell's word; a miss points to the Findings section, which gives the cause."""
    return "met" if met else "**missed** (see Findings)"


def lifecycle_rows(lifecycle):
    rows = []
    specs = [
        ("standby of a 256 MiB guest", "standby", "`stint standby`", "QMP sequence sent directly", 1.10),
        ("restore to running", "restore", "`stint restore`", "QEMU `-incoming` plus `cont`", 1.10),
        ("fork from standby", "fork", "`stint fork --target running`", "`cp` of the image plus restore", 1.00),
    ]
    for title, key, stint_label, raw_label, limit in specs:
        stint = [sample[key] for sample in lifecycle["stint"]]
        raw = [sample[key] for sample in lifecycle["raw"]]
        ratio = statistics.median(stint) / statistics.median(raw)
        rows.append(
            f"| {title} | {stint_label}: {spread(stint)} | {raw_label}: {spread(raw)} "
            f"| ratio {ratio:.2f} (target ≤ {limit:.2f}): {verdict(ratio <= limit)} |"
        )
    return rows


def wrk_summary(runs):
    rps = [run["rps"] for run in runs]
    return {
        "rps": statistics.median(rps),
        "rps_min": min(rps),
        "rps_max": max(rps),
        "p50": statistics.median(run["p50_ms"] for run in runs),
        "p99": statistics.median(run["p99_ms"] for run in runs),
        "p99_max": max(run["p99_ms"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "runs": len(runs),
    }


def listing_rows(listing):
    rows = []
    for size in listing:
        stint = wrk_summary(size["stint_wrk"])
        nginx = wrk_summary(size["nginx_wrk"])
        share = stint["rps"] / nginx["rps"]
        stint_text = (
            f"{stint['rps']:.1f} req/s ({stint['rps_min']:.1f}–{stint['rps_max']:.1f}, {stint['runs']} runs), "
            f"p50 {stint['p50']:.1f} ms, p99 {stint['p99']:.1f} ms (worst run {stint['p99_max']:.1f} ms)"
        )
        nginx_text = f"{nginx['rps']:.0f} req/s, p99 {nginx['p99']:.2f} ms"
        if size["count"] == 1000:
            target = (
                f"{share:.3f} of nginx (target ≥ 0.5): {verdict(share >= 0.5)}; "
                f"p99 (target < 20 ms): {verdict(stint['p99'] < 20)}"
            )
        else:
            target = f"{share:.3f} of nginx; p99 (target < 20 ms): {verdict(stint['p99'] < 20)}"
        rows.append(
            f"| list {size['count']:,} instances ({size['response_bytes']:,} bytes) | {stint_text} "
            f"| nginx, same bytes: {nginx_text} | {target} |"
        )
    return rows


def cold_start_rows(listing):
    rows = []
    for size in listing:
        if size["count"] != max(item["count"] for item in listing):
            continue
        ps = statistics.median(size["ps"])
        start = statistics.median(size["server_start"])
        rows.append(
            f"| cold start with {size['count']:,} instances | `stint ps`: {spread(size['ps'])}; "
            f"server start to first `GET /instances`: {spread(size['server_start'])} "
            f"| `cat` of the metadata files: {spread(size['cat'])} "
            f"| under 1 s: ps {verdict(ps < 1)}, server {verdict(start < 1)} |"
        )
    return rows


def memory_row(lifecycle, listing):
    largest = max(listing, key=lambda item: item["count"])
    monitors = [sample["monitor_rss_kib"] for sample in lifecycle["stint"] if sample["monitor_rss_kib"]]
    monitor = statistics.median(monitors) / 1024
    qemu = statistics.median(sample["qemu_rss_kib"] for sample in lifecycle["stint"]) / 1024
    private = statistics.median(sample["monitor_private_kib"] for sample in lifecycle["stint"]) / 1024
    proportional = statistics.median(sample["monitor_pss_kib"] for sample in lifecycle["stint"]) / 1024
    return (
        f"| memory | server VmRSS with {largest['count']:,} instances after wrk: "
        f"{largest['server_rss_kib'] / 1024:.1f} MiB (VmHWM {largest['server_hwm_kib'] / 1024:.1f} MiB); "
        f"monitor VmRSS per VM: {monitor:.1f} MiB ({min(monitors) / 1024:.1f}–{max(monitors) / 1024:.1f}), "
        f"of which private {private:.1f} MiB (Pss {proportional:.1f} MiB) "
        f"| (QEMU VmRSS of the same VM: {qemu:.0f} MiB) | monitor under 5 MiB: {verdict(monitor < 5)} |"
    )


def durable_row(durable):
    # Every fourth save also syncs the journal, which the median hides, so the verdict uses the mean as well.
    median_ratio = statistics.median(durable["save_metadata"]) / statistics.median(durable["fsync_write"])
    mean_ratio = statistics.fmean(durable["save_metadata"]) / statistics.fmean(durable["fsync_write"])
    return (
        f"| one transition's durable writes ({durable['metadata_bytes']:,} bytes) "
        f"| `InstanceStore.saveMetadata`: {spread(durable['save_metadata'], 'percentiles')}, "
        f"mean {milliseconds(statistics.fmean(durable['save_metadata']))} "
        f"| open, write, fsync, close of the same bytes: {spread(durable['fsync_write'], 'percentiles')}, "
        f"mean {milliseconds(statistics.fmean(durable['fsync_write']))} "
        f"| ratio of medians {median_ratio:.2f}, of means {mean_ratio:.2f} (target ≤ 2): "
        f"{verdict(max(median_ratio, mean_ratio) <= 2)} |"
    )


def render(context):
    """Return the whole Markdown page."""
    machine = context["machine"]
    lifecycle = context["lifecycle"]
    listing = context["listing"]
    durable = context["durable"]
    lines = [
        "# Benchmarks",
        "",
        "Stint measured against the same work done without it, on the same machine in the same run. Regenerate",
        "this page with the command below; it overwrites the whole file.",
        "",
        f"- Date: {context['date']}",
        f"- Command: `{context['command']}` (total {context['elapsed']:.0f} s)",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory']}; {machine['kernel']}",
        f"- {machine['qemu']}, accelerator TCG; data directories on {machine['tmp_filesystem']} under /tmp",
        f"- Stint built with `swift build -c release --static-swift-stdlib`; commit {context['commit']}",
        "",
        "| what | Stint | against | target |",
        "|---|---|---|---|",
        *lifecycle_rows(lifecycle),
        *listing_rows(listing),
        durable_row(durable),
        *cold_start_rows(listing),
        memory_row(lifecycle, listing),
        "",
        "Times are medians, with min–max or p10–p90 and the sample count in brackets. Ratios divide Stint's median",
        "by the median of the direct measurement.",
        "",
        "## How each line is measured",
        "",
        "The machine has 2 cores, and other builds and tests may run on it. Load average (1 / 5 / 15 min) before",
        "each section, where the load before the listing sizes comes mostly from the benchmark's own earlier work:",
        "",
        *[f"- {name}: {value}" for name, value in context["loads"] if name != "listing"],
        *[f"- listing {size['count']:,}: {size['load_before']}" for size in listing],
        "",
        f"**Lifecycle** ({len(lifecycle['stint'])} rounds, and the side that goes first alternates). Each round boots the",
        f"guest with `--memory 256` and the program `{shlex.join(context['guest_program'])}` through",
        f"`stint run` or `stint start`, and waits until its QEMU has run {context['uptime']:g} s. It then times",
        "`stint standby` and `stint restore`, makes an untimed second standby, and times",
        "`stint fork --target running`. Each time is the wall time of the CLI process. Before each timed",
        "operation, on both sides, an untimed `sync` writes out dirty pages, so that writeback left by the previous",
        "step (such as the direct side's `cp` of 91 MiB) does not fall into the next measurement.",
        "",
        "The direct side launches QEMU with the argument vector read from `/proc/PID/cmdline` of Stint's QEMU. Only",
        "the QMP socket path differs, and a thread drains the serial console from a pipe. After the same uptime it",
        "times three things:",
        "",
        "- standby: connect (retrying every 1 ms, as Stint does), `stop`, `query-status`, `migrate-set-parameters`",
        "  (max-bandwidth 100 GiB/s), `migrate-set-capabilities` (events on), `getfd` plus `migrate fd:NAME`, then",
        "  `query-migrate` once and again after each `MIGRATION` event with an end state (or after 1 s without",
        "  one), `quit`, and the wait for QEMU to exit. It does not fsync the image. Stint does, so the fsync counts",
        "  as Stint's overhead.",
        "- restore: launch with `-S -incoming fd:N` (the argument vector carries `-global migration.x-events=on`),",
        "  then `query-migrate` and `query-status`, again after each `MIGRATION` event with an end state, and `cont`.",
        "- fork: `cp` of the image plus that restore. Stint hard-links the image of a source in standby instead.",
        "",
        "Memory images: Stint "
        + f"{statistics.median(s['image_bytes'] for s in lifecycle['stint']) / 2**20:.0f} MiB, direct "
        + f"{statistics.median(s['image_bytes'] for s in lifecycle['raw']) / 2**20:.0f} MiB (medians).",
        "",
        "**Listing.** The instance directories are generated from the metadata of the benchmark's own",
        "instance in standby and in stopped (half each), with new ids, names and times. `stint serve` and nginx",
        "serving a static file with the bytes of Stint's response each get "
        + f"{context['wrk_runs']} runs of `wrk -t2 -c16 -d10s --timeout 30s --latency`",
        "with the bearer header. nginx runs with `worker_processes auto` and its `access_log` on, as Stint logs every",
        "request. wrk errors (timeouts and non-2xx responses): "
        + "; ".join(
            f"{size['count']:,} instances: Stint {wrk_summary(size['stint_wrk'])['errors']}, "
            f"nginx {wrk_summary(size['nginx_wrk'])['errors']}"
            for size in listing
        )
        + ".",
        "",
        "**Durable writes.** `Benchmarks/DurableWriteBenchmark` alternates `InstanceStore.saveMetadata` and one",
        "open, write, fsync and close of the same encoded bytes, "
        + f"{len(durable['save_metadata'])} times each. A save records one transition: JSON encoding,",
        "an in-place write of the older of the two metadata slots with `fdatasync`, a read back of that slot, then",
        "the SQLite journal insert (WAL, `synchronous=NORMAL`). Every fourth save first fsyncs the journal's WAL and",
        "database files. It starts from the standby metadata of the lifecycle instance.",
        "",
        "**Cold start.** The wall time of `stint ps`, and the time from launching `stint serve` to the first complete",
        "`GET /instances` response, against `cat DATA/instances/*/metadata.[01] > /dev/null`, which reads both",
        "metadata slots of every instance, as Stint does. The page cache is warm for all three.",
        "",
        "**Memory.** VmRSS from `/proc/PID/status` of the monitor while the guest runs (each round), and of the server",
        "after the wrk runs at the largest size. Private and Pss come from `/proc/PID/smaps_rollup`.",
        "",
    ]
    if context.get("notes"):
        lines += ["## Findings", "", *context["notes"], ""]
    return "\n".join(lines)
