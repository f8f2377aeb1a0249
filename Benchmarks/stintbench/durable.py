"""One transition's durable writes: `InstanceStore.saveMetadata` against one fsync'd write of the same bytes."""

import json
import os
import subprocess

from . import host


def run(binary, work_dir, iterations, template):
    """Run the Swift benchmark program and return its samples in seconds and the metadata size in bytes."""
    data_dir = os.path.join(work_dir, "durable")
    os.makedirs(data_dir, exist_ok=True)
    load = host.load_average()
    argv = [binary, data_dir, str(iterations)]
    if template:
        argv.append(template)
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    report = json.loads(output)
    return {
        "load_before": load,
        "metadata_bytes": report["metadata_bytes"],
        "save_metadata": [value / 1e9 for value in report["save_metadata_ns"]],
        "fsync_write": [value / 1e9 for value in report["fsync_write_ns"]],
    }
