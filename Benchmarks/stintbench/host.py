"""The machine under test and process helpers shared by the benchmark sections."""

import os
import platform
import subprocess
import time


def load_average():
    """Return the 1, 5 and 15 minute load averages as a string."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe_machine(qemu):
    """Return CPU model, core count, memory, kernel and QEMU version as a dict of strings."""
    model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    filesystem = subprocess.run(["df", "-T", "/tmp"], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "memory": f"{memory_kib / 1024 / 1024:.1f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "qemu": version,
        "tmp_filesystem": filesystem,
    }


def rss_kib(pid):
    """Return VmRSS and VmHWM of `pid` in KiB, or (None, None) when the process is gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
    except FileNotFoundError:
        return None, None
    return values.get("VmRSS"), values.get("VmHWM")


def private_and_proportional_kib(pid):
    """Return the private (Private_Clean plus Private_Dirty) and proportional (Pss) set sizes of `pid` in KiB.

    Shared library pages count fully in the VmRSS of every process that maps them, so these two show what one
    more process of the same binary adds. Returns (None, None) when the process is gone.
    """
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("Pss", "Private_Clean", "Private_Dirty"):
                    values[key] = int(rest.split()[0])
    except FileNotFoundError:
        return None, None
    return values.get("Private_Clean", 0) + values.get("Private_Dirty", 0), values.get("Pss")


def process_age(pid):
    """Return how long `pid` has run, in seconds, from its start time in /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])
    with open("/proc/uptime") as handle:
        uptime = float(handle.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def timed_run(argv, env=None, check=True):
    """Run `argv` to completion and return its wall time in seconds and its completed process."""
    start = time.monotonic()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed with exit status {completed.returncode}: {completed.stderr.strip()}"
        )
    return elapsed, completed
