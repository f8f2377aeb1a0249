"""A minimal QMP client: one JSON object per line, commands tagged with an id, events queued in arrival order."""

import json
import socket
import time


class QMPError(Exception):
    """A QMP command returned an error, or the connection ended before its reply."""


class QMPClient:
    """One connection to a QEMU monitor socket in control mode."""

    def __init__(self, path, timeout=10.0, retry_interval=0.001):
        """Connect to the socket at `path`, retrying every `retry_interval` seconds until `timeout`.

        Stint's own client retries every millisecond, so the default matches it.
        """
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"QMP socket {path} did not accept a connection within {timeout} s")
                time.sleep(retry_interval)
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.next_id = 0
        self.events = []
        greeting = self._read_message()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting from {path}: {greeting}")
        self.execute("qmp_capabilities")

    def _read_message(self):
        line = self.reader.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line)

    def execute(self, command, arguments=None, fds=None):
        """Send `command` and return its `return` value; `fds` are passed with SCM_RIGHTS (for `getfd`)."""
        self.next_id += 1
        request = {"execute": command, "id": self.next_id}
        if arguments is not None:
            request["arguments"] = arguments
        payload = (json.dumps(request) + "\n").encode()
        if fds:
            socket.send_fds(self.sock, [payload], fds)
        else:
            self.sock.sendall(payload)
        while True:
            message = self._read_message()
            if "event" in message:
                self.events.append(message)
                continue
            if message.get("id") != self.next_id:
                continue
            if "error" in message:
                raise QMPError(f"{command} failed: {message['error']}")
            return message.get("return")

    def wait_for_event(self, name, timeout):
        """Return the first event called `name`, queued or read within `timeout` seconds, or None on timeout.

        Other events read meanwhile stay queued, as in Stint's QMPClient.waitForEvent(named:timeout:).
        """
        for index, event in enumerate(self.events):
            if event.get("event") == name:
                return self.events.pop(index)
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.sock.settimeout(remaining)
                message = self._read_message()
                if "event" not in message:
                    continue
                if message.get("event") == name:
                    return message
                self.events.append(message)
        except (socket.timeout, TimeoutError):
            return None
        finally:
            self.sock.settimeout(None)

    def close(self):
        self.reader.close()
        self.sock.close()
