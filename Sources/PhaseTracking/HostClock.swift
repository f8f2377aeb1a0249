#if canImport(Glibc)
    import Glibc
#endif

/// A source of host instants. The system clock reads the host; tests inject their own.
public protocol HostClock: Sendable {
    func now() -> HostInstant
}

/// The host's clocks: `CLOCK_REALTIME`, `CLOCK_BOOTTIME` and the kernel's boot id.
public struct SystemClock: HostClock {
    /// The boot id of the running kernel, from `/proc/sys/kernel/random/boot_id`.
    public let bootID: String

    public init() {
        bootID = SystemClock.readBootID()
    }

    public func now() -> HostInstant {
        HostInstant(
            wallNanoseconds: SystemClock.read(CLOCK_REALTIME),
            bootNanoseconds: SystemClock.read(CLOCK_BOOTTIME),
            bootID: bootID)
    }

    private static func read(_ clock: clockid_t) -> Int64 {
        var time = timespec()
        // clock_gettime fails only for an unknown clock id; both ids used here exist on every Linux since 2.6.39.
        _ = clock_gettime(clock, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    private static func readBootID() -> String {
        // Read with plain system calls, so this module needs no Foundation and the monitor can link it statically.
        var bytes = [UInt8](repeating: 0, count: 64)
        let descriptor = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        var count = -1
        if descriptor >= 0 {
            repeat {
                count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            } while count < 0 && errno == EINTR
            close(descriptor)
        }
        let content = bytes.prefix(max(0, count))
        let trimmed = String(decoding: content.prefix { $0 > 0x20 }, as: UTF8.self)
        guard !trimmed.isEmpty else {
            // NOTE: without a boot id every instant counts as the same boot, so durations use CLOCK_BOOTTIME
            // and a host reboot in the middle of a phase would be measured wrongly.
            return "unknown"
        }
        return trimmed
    }
}
