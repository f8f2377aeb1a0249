"""Benchmarks that compare Stint with the same work done directly (QEMU over QMP, nginx, plain fsync)."""
