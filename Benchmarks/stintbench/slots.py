"""Stint's metadata slot files (`metadata.0` and `metadata.1`): read the current version, write a new instance.

A slot is one header line, `stint-metadata 1 generation=G length=L crc32=C`, then L bytes of JSON and padding
spaces. The CRC-32 (zlib's) covers the header up to ` crc32=` and the JSON. The valid slot with the highest
generation is current.
"""

import os
import zlib

FILE_NAMES = ("metadata.0", "metadata.1")
MAGIC = b"stint-metadata 1"
ALLOCATION_UNIT = 4096


def parse(data):
    """Return (generation, body bytes) of one slot's bytes, or None when the slot is not complete."""
    newline = data.find(b"\n", 0, 128)
    if newline < 0 or not data.startswith(MAGIC + b" "):
        return None
    header = data[:newline]
    fields = dict(field.split(b"=", 1) for field in header[len(MAGIC) + 1:].split(b" ") if b"=" in field)
    try:
        generation = int(fields[b"generation"])
        length = int(fields[b"length"])
        stored = int(fields[b"crc32"], 16)
    except (KeyError, ValueError):
        return None
    body = data[newline + 1:newline + 1 + length]
    if len(body) != length or zlib.crc32(header[:header.index(b" crc32=")] + body) != stored:
        return None
    return generation, body


def read_current(directory):
    """Return the JSON text of the current version in the instance directory `directory`."""
    best = None
    for name in FILE_NAMES:
        try:
            with open(os.path.join(directory, name), "rb") as handle:
                parsed = parse(handle.read())
        except FileNotFoundError:
            continue
        if parsed and (best is None or parsed[0] > best[0]):
            best = parsed
    if best is None:
        raise RuntimeError(f"no complete metadata slot in {directory}")
    return best[1].decode()


def create(directory, text):
    """Write `text` as generation 1 into both slots of a new instance directory, as Stint does on create."""
    body = text.encode()
    prefix = MAGIC + b" generation=1 length=%d" % len(body)
    content = prefix + b" crc32=%08x\n" % zlib.crc32(prefix + body) + body + b"\n"
    size = -(-len(content) // ALLOCATION_UNIT) * ALLOCATION_UNIT
    for name in FILE_NAMES:
        descriptor = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content.ljust(size, b" "))
