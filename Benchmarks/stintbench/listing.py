"""Listing: `GET /instances` under wrk against nginx serving the same bytes, `stint ps`, server cold start and RSS."""

from datetime import datetime, timedelta, timezone
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import host, slots

TIMESTAMP = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z"')
BOOT_NANOSECONDS = re.compile(r'("boot_ns" : )(\d+)')
WRK_DURATION = "10s"
WRK_THREADS = "2"
WRK_CONNECTIONS = "16"
# A request at 10 000 instances can take longer than wrk's default 2 s timeout, which would drop it from the latency
# distribution, so the timeout is longer.
WRK_TIMEOUT = "30s"


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shift_instants(text, offset_seconds):
    """Move every RFC 3339 time and boot_ns in `text` back by `offset_seconds`, keeping the tracker consistent."""
    def shift_time(match):
        value = match.group(1)
        fraction = ""
        if "." in value:
            value, fraction = value.split(".")
            fraction = "." + fraction
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        moment -= timedelta(seconds=offset_seconds)
        return '"' + moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + 'Z"'

    def shift_boot(match):
        return match.group(1) + str(max(0, int(match.group(2)) - offset_seconds * 1_000_000_000))

    return BOOT_NANOSECONDS.sub(shift_boot, TIMESTAMP.sub(shift_time, text))


def generate_instances(data_dir, count, templates):
    """Write `count` instance directories, alternating the stopped and standby templates, each with its own id,
    name and times. Returns the ids."""
    instances_dir = os.path.join(data_dir, "instances")
    os.makedirs(instances_dir, mode=0o700, exist_ok=True)
    ids = []
    for index in range(count):
        template = templates[index % len(templates)]
        instance_id = secrets.token_hex(8)
        text = template["text"].replace(template["id"], instance_id)
        text = text.replace(f'"name" : "{template["name"]}"', f'"name" : "bench-{index:05d}"')
        text = shift_instants(text, 60 + index * 7)
        directory = os.path.join(instances_dir, instance_id)
        os.mkdir(directory, 0o700)
        slots.create(directory, text)
        ids.append(instance_id)
    return ids


class StintServer:
    """A `stint serve` process on a loopback port."""

    def __init__(self, cli, log_path):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log = open(log_path, "ab")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [cli.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--token", self.token],
            env=cli.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def first_answer(self, timeout=60.0):
        """Poll `GET /instances` until it returns 200. Returns the seconds since launch and the body."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                connection.request("GET", "/instances", headers={"Authorization": f"Bearer {self.token}"})
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200:
                    return time.monotonic() - self.started, body
            except OSError:
                time.sleep(0.002)
        raise RuntimeError(
            f"stint serve on port {self.port} did not return 200 for GET /instances within {timeout} s; "
            f"see {self.log.name}"
        )

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Nginx:
    """nginx serving one static file on a loopback port, with a config in a temporary directory."""

    CONFIG = """
worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    default_type application/json;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location = /instances {{ alias {prefix}/instances.json; }}
    }}
}}
"""

    def __init__(self, body):
        # nginx's workers run as an unprivileged user, so the directory must not sit inside the 0700 work directory.
        prefix = tempfile.mkdtemp(prefix="stint-bench-nginx-", dir="/tmp")
        os.chmod(prefix, 0o755)
        self.prefix = prefix
        self.port = free_port()
        with open(os.path.join(prefix, "instances.json"), "wb") as handle:
            handle.write(body)
        os.chmod(os.path.join(prefix, "instances.json"), 0o644)
        config = os.path.join(prefix, "nginx.conf")
        with open(config, "w") as handle:
            handle.write(self.CONFIG.format(prefix=prefix, port=self.port))
        self.process = subprocess.Popen(
            ["nginx", "-c", config, "-p", prefix], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen on port {self.port} within 10 s; see {prefix}/error.log")
                time.sleep(0.02)

    def stop(self):
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)


def run_wrk(port, token):
    """Run wrk against `GET /instances` and return requests/s, latency percentiles (ms) and error counts."""
    argv = [
        "wrk", "-t", WRK_THREADS, "-c", WRK_CONNECTIONS, "-d", WRK_DURATION, "--timeout", WRK_TIMEOUT, "--latency",
        "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}/instances",
    ]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "errors": 0}
    for percent in ("50", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        result[f"p{percent}_ms"] = float(match.group(1)) * scale
    requests = re.search(r"(\d+) requests in", output)
    result["requests"] = int(requests.group(1)) if requests else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if errors:
        result["errors"] += sum(int(value) for value in errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        result["errors"] += int(non_2xx.group(1))
    return result


def measure_size(cli, work_dir, count, wrk_runs, startup_runs, log):
    """Measure one data directory of `count` instances and return its samples."""
    result = {"count": count, "load_before": host.load_average()}

    server = StintServer(cli, os.path.join(work_dir, f"serve-{count}.log"))
    startup, body = server.first_answer()
    result["response_bytes"] = len(body)
    nginx = Nginx(body)
    result["stint_wrk"], result["nginx_wrk"] = [], []
    try:
        for _ in range(wrk_runs):
            result["stint_wrk"].append(run_wrk(server.port, server.token))
            result["nginx_wrk"].append(run_wrk(nginx.port, server.token))
        result["server_rss_kib"], result["server_hwm_kib"] = host.rss_kib(server.process.pid)
    finally:
        nginx.stop()
        server.stop()
    log(f"listing {count}: stint {result['stint_wrk']}, nginx {result['nginx_wrk']}")

    startups = [startup]
    for _ in range(startup_runs - 1):
        server = StintServer(cli, os.path.join(work_dir, f"serve-{count}.log"))
        startups.append(server.first_answer()[0])
        server.stop()
    result["server_start"] = startups
    result["ps"] = [cli.run("ps") for _ in range(startup_runs)]
    pattern = os.path.join(cli.data_dir, "instances", "*", "metadata.[01]")
    result["cat"] = [
        host.timed_run(["sh", "-c", f"cat {pattern} > /dev/null"])[0] for _ in range(startup_runs)
    ]
    log(f"listing {count}: start {startups}, ps {result['ps']}, cat {result['cat']}")
    return result


def run(cli_factory, work_dir, templates, sizes, wrk_runs, startup_runs, log):
    """Generate and measure a data directory for each count in `sizes`. Returns one sample dict per size."""
    results = []
    for count in sizes:
        data_dir = os.path.join(work_dir, f"list-{count}")
        shutil.rmtree(data_dir, ignore_errors=True)
        generate_instances(data_dir, count, templates)
        cli = cli_factory(data_dir)
        results.append(measure_size(cli, work_dir, count, wrk_runs, startup_runs, log))
    return results
