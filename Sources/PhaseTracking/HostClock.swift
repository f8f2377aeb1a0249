import Foundation

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
        let path = "/proc/sys/kernel/random/boot_id"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            // NOTE: without a boot id every instant counts as the same boot, so durations use CLOCK_BOOTTIME
            // and a host reboot in the middle of a phase would be measured wrongly.
            return "unknown"
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
