import Testing

/// Tests that boot real QEMU guests under TCG. They run one at a time, because each guest keeps a CPU core busy and
/// boot times under contention would make timeouts flaky.
///
/// They need `STINT_TEST_KERNEL` (an x86-64 bzImage), `qemu-system-x86_64` in PATH and /bin/busybox.
@Suite(.serialized) struct QEMUGuestTests {}
