"""QEMU launched directly with the argument vector Stint uses, and the QMP sequences Stint issues."""

import os
import subprocess
import threading
import time

from .qmp import QMPClient, QMPError

# Stint's QEMUMachine raises max-bandwidth to 100 GiB/s, turns on the events capability, and sends query-migrate
# again after each MIGRATION event with an end state, or after 1 s without one.
EVENT_FALLBACK = 1.0
END_STATES = ("completed", "failed", "cancelled")
LOCAL_FILE_BANDWIDTH = 100 * 1024 * 1024 * 1024


def wait_for_migration_end_event(client):
    """Wait, like Stint's QEMUMachine, for a MIGRATION event with an end state or for EVENT_FALLBACK seconds."""
    deadline = time.monotonic() + EVENT_FALLBACK
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        event = client.wait_for_event("MIGRATION", remaining)
        if event is None or event.get("data", {}).get("status") in END_STATES:
            return


def argv_of(pid):
    """Return the argument vector of process `pid` from /proc."""
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return [part.decode() for part in handle.read().split(b"\0") if part]


def retarget_argv(argv, qmp_socket):
    """Return `argv` with the QMP socket moved to `qmp_socket` and any `-S -incoming` pair removed."""
    result = []
    index = 0
    while index < len(argv):
        argument = argv[index]
        if argument == "-S":
            index += 1
            continue
        if argument == "-incoming":
            index += 2
            continue
        if argument == "-chardev" and "path=" in argv[index + 1]:
            options = [
                f"path={qmp_socket}" if option.startswith("path=") else option
                for option in argv[index + 1].split(",")
            ]
            result += [argument, ",".join(options)]
            index += 2
            continue
        result.append(argument)
        index += 1
    return result


class RawMachine:
    """One QEMU process started by this script, its serial console drained on a thread."""

    # Machines not yet ended, so a failed run can kill exactly the processes it started.
    live = set()

    def __init__(self, argv, qmp_socket, log_path, incoming_image=None):
        """Launch `argv`, whose QMP socket is `qmp_socket`. With `incoming_image`, start paused and load it."""
        self.qmp_socket = qmp_socket
        if os.path.exists(qmp_socket):
            os.unlink(qmp_socket)
        pass_fds = ()
        arguments = list(argv)
        self.incoming = None
        if incoming_image is not None:
            self.incoming = os.open(incoming_image, os.O_RDONLY | os.O_CLOEXEC)
            pass_fds = (self.incoming,)
            arguments += ["-S", "-incoming", f"fd:{self.incoming}"]
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            pass_fds=pass_fds,
            close_fds=True,
        )
        if self.incoming is not None:
            os.close(self.incoming)
            self.incoming = None
        RawMachine.live.add(self)
        self.drain = threading.Thread(target=self._drain_serial, daemon=True)
        self.drain.start()
        self.client = None

    def _drain_serial(self):
        while self.process.stdout.read(65536):
            pass

    @property
    def pid(self):
        return self.process.pid

    def connect(self):
        self.client = QMPClient(self.qmp_socket)
        return self.client

    def standby(self, image_path):
        """Save memory to `image_path` and end QEMU with the QMP commands Stint's standby issues, then wait for exit."""
        client = self.connect()
        client.execute("stop")
        client.execute("query-status")
        client.execute("migrate-set-parameters", {"max-bandwidth": LOCAL_FILE_BANDWIDTH})
        client.execute("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]})
        descriptor = os.open(image_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            client.execute("getfd", {"fdname": "bench-migration"}, fds=[descriptor])
            client.execute("migrate", {"uri": "fd:bench-migration"})
            while True:
                status = client.execute("query-migrate").get("status")
                if status == "completed":
                    break
                if status in ("failed", "cancelled"):
                    raise QMPError(f"migration to {image_path} ended as {status}")
                wait_for_migration_end_event(client)
        finally:
            os.close(descriptor)
        try:
            client.execute("quit")
        except QMPError:
            pass
        self.process.wait(timeout=30)
        self._finish()

    def wait_for_incoming_and_continue(self):
        """Wait until the incoming migration has completed with the machine paused, then send `cont`.

        Stint's argument vector, which this machine runs, turns on the events capability with
        `-global migration.x-events=on`, so QEMU sends MIGRATION events for the load.
        """
        client = self.connect()
        while True:
            status = client.execute("query-migrate").get("status")
            if status in ("failed", "cancelled"):
                raise QMPError(f"loading the image ended as {status}")
            run_state = client.execute("query-status").get("status")
            if (run_state == "paused" and status == "completed") or run_state == "running":
                break
            wait_for_migration_end_event(client)
        client.execute("cont")
        client.close()
        self.client = None

    def quit(self):
        """End QEMU over QMP and wait for it, killing it if it does not exit within 10 s."""
        try:
            client = self.client or self.connect()
            client.execute("quit")
        except (QMPError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._finish()

    @classmethod
    def kill_all(cls):
        """Kill every machine this script started that is still running, by pid."""
        for machine in list(cls.live):
            if machine.process.poll() is None:
                machine.process.kill()
                machine.process.wait()
            cls.live.discard(machine)

    def _finish(self):
        RawMachine.live.discard(self)
        if self.client is not None:
            self.client.close()
            self.client = None
        self.drain.join(timeout=5)
        self.log.close()
