"""Standby, restore and fork: the `stint` CLI against the same QMP work done directly on an identical QEMU."""

import glob
import json
import os
import subprocess
import time

from . import host, slots
from .raw_qemu import RawMachine, argv_of, retarget_argv

GUEST_PROGRAM = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"]
SOURCE_NAME = "bench-source"


class StintCLI:
    """Runs the `stint` binary on one data directory."""

    def __init__(self, binary, data_dir, image_dir):
        self.binary = binary
        self.data_dir = data_dir
        self.env = dict(os.environ, STINT_DATA_DIR=data_dir, STINT_IMAGE_DIR=image_dir, STINT_ACCEL="tcg")

    def run(self, *arguments, check=True):
        """Run one command and return its wall time in seconds."""
        elapsed, _ = host.timed_run([self.binary, *arguments], env=self.env, check=check)
        return elapsed

    def metadata(self, name):
        """Return the parsed current metadata of the instance called `name`."""
        return json.loads(self.metadata_text(name))

    def metadata_text(self, name):
        """Return the current metadata document of the instance called `name`."""
        for directory in glob.glob(os.path.join(self.data_dir, "instances", "*")):
            text = slots.read_current(directory)
            if json.loads(text).get("name") == name:
                return text
        raise RuntimeError(f"instance {name} not found in {self.data_dir}")

    def directory(self, name):
        return os.path.join(self.data_dir, "instances", self.metadata(name)["id"])


def write_text(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def wait_until_age(pid, seconds):
    """Sleep until process `pid` has run for `seconds`, so both guests have the same uptime when measured."""
    while True:
        remaining = seconds - host.process_age(pid)
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.05))


def stint_round(cli, round_index, uptime, templates_dir):
    """Run one round on Stint's side. Returns the timings with the monitor's memory, and the QEMU argv it used."""
    if round_index == 0:
        cli.run("run", "--name", SOURCE_NAME, "--memory", "256", "--wait", "running", "--", *GUEST_PROGRAM)
    else:
        cli.run("start", SOURCE_NAME, "--wait", "running")
    processes = cli.metadata(SOURCE_NAME)["processes"]
    argv = argv_of(processes["hypervisor_pid"])
    os.sync()
    wait_until_age(processes["hypervisor_pid"], uptime)
    monitor_rss, _ = host.rss_kib(processes["monitor_pid"])
    monitor_private, monitor_pss = host.private_and_proportional_kib(processes["monitor_pid"])
    qemu_rss, _ = host.rss_kib(processes["hypervisor_pid"])

    result = {
        "monitor_rss_kib": monitor_rss,
        "monitor_private_kib": monitor_private,
        "monitor_pss_kib": monitor_pss,
        "qemu_rss_kib": qemu_rss,
    }
    result["standby"] = cli.run("standby", SOURCE_NAME)
    source_dir = cli.directory(SOURCE_NAME)
    result["image_bytes"] = os.path.getsize(os.path.join(source_dir, "snapshot", "memory.img"))
    os.sync()
    result["restore"] = cli.run("restore", SOURCE_NAME)
    cli.run("standby", SOURCE_NAME)
    write_text(os.path.join(templates_dir, "standby.json"), cli.metadata_text(SOURCE_NAME))
    fork_name = f"bench-fork-{round_index}"
    os.sync()
    result["fork"] = cli.run("fork", SOURCE_NAME, "--name", fork_name, "--target", "running")
    cli.run("rm", "--force", fork_name)
    cli.run("stop", SOURCE_NAME)
    write_text(os.path.join(templates_dir, "stopped.json"), cli.metadata_text(SOURCE_NAME))
    return result, argv


def raw_round(argv, work_dir, uptime):
    """Run the same round directly: launch, standby, restore, standby again, then copy and restore (fork)."""
    qmp_socket = os.path.join(work_dir, "qmp.sock")
    log_path = os.path.join(work_dir, "vmm.log")
    arguments = retarget_argv(argv, qmp_socket)
    images = [os.path.join(work_dir, f"memory-{index}.img") for index in range(3)]
    for image in images:
        if os.path.exists(image):
            os.unlink(image)
    result = {}

    machine = RawMachine(arguments, qmp_socket, log_path)
    os.sync()
    wait_until_age(machine.pid, uptime)
    start = time.monotonic()
    machine.standby(images[0])
    result["standby"] = time.monotonic() - start
    result["image_bytes"] = os.path.getsize(images[0])

    os.sync()
    start = time.monotonic()
    machine = RawMachine(arguments, qmp_socket, log_path, incoming_image=images[0])
    machine.wait_for_incoming_and_continue()
    result["restore"] = time.monotonic() - start
    machine.standby(images[1])

    os.sync()
    start = time.monotonic()
    subprocess.run(["cp", images[1], images[2]], check=True)
    machine = RawMachine(arguments, qmp_socket, log_path, incoming_image=images[2])
    machine.wait_for_incoming_and_continue()
    result["fork"] = time.monotonic() - start
    machine.quit()
    for image in images:
        os.unlink(image)
    return result


def run(cli, work_dir, rounds, uptime, log):
    """Run `rounds` rounds, alternating which side goes first, and return per-round samples for both sides."""
    templates_dir = os.path.join(work_dir, "templates")
    raw_dir = os.path.join(work_dir, "raw")
    os.makedirs(templates_dir, exist_ok=True)
    os.makedirs(raw_dir, exist_ok=True)
    samples = {"stint": [], "raw": [], "load": [host.load_average()]}
    argv = None
    for round_index in range(rounds):
        if round_index % 2 == 0 or argv is None:
            stint_result, argv = stint_round(cli, round_index, uptime, templates_dir)
            raw_result = raw_round(argv, raw_dir, uptime)
        else:
            raw_result = raw_round(argv, raw_dir, uptime)
            stint_result, argv = stint_round(cli, round_index, uptime, templates_dir)
        samples["stint"].append(stint_result)
        samples["raw"].append(raw_result)
        log(
            f"lifecycle round {round_index + 1}/{rounds}: "
            + ", ".join(
                f"{key} {stint_result[key] * 1000:.0f}/{raw_result[key] * 1000:.0f} ms"
                for key in ("standby", "restore", "fork")
            )
        )
    samples["load"].append(host.load_average())
    samples["argv"] = argv
    return samples
