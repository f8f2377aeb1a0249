/// A moment on the host, read from two clocks at once.
///
/// `wallNanoseconds` is `CLOCK_REALTIME` (nanoseconds since 1970-01-01 UTC) and is what timestamps show.
/// `bootNanoseconds` is `CLOCK_BOOTTIME` (nanoseconds since the host booted, counting suspend), which no
/// wall-clock step moves. Two instants taken while the host stayed up (same `bootID`) are compared and
/// subtracted with the boot clock; instants from different boots fall back to the wall clock.
public struct HostInstant: Sendable, Hashable {
    public var wallNanoseconds: Int64
    public var bootNanoseconds: Int64
    public var bootID: String

    public init(wallNanoseconds: Int64, bootNanoseconds: Int64, bootID: String) {
        self.wallNanoseconds = wallNanoseconds
        self.bootNanoseconds = bootNanoseconds
        self.bootID = bootID
    }

    /// Nanoseconds from `earlier` to `self`, negative when `self` comes first. A difference beyond the range of
    /// `Int64` (only corrupt instants are that far apart) is clamped to `Int64.min` or `Int64.max`.
    public func nanoseconds(since earlier: HostInstant) -> Int64 {
        let (later, start) =
            bootID == earlier.bootID
            ? (bootNanoseconds, earlier.bootNanoseconds) : (wallNanoseconds, earlier.wallNanoseconds)
        let (difference, overflow) = later.subtractingReportingOverflow(start)
        guard overflow else { return difference }
        return later < start ? Int64.min : Int64.max
    }

    /// True when `self` lies before `other` on the clock that `nanoseconds(since:)` uses.
    public func isBefore(_ other: HostInstant) -> Bool {
        other.nanoseconds(since: self) > 0
    }

    /// Returns the instant `nanoseconds` later on both clocks.
    public func adding(nanoseconds: Int64) -> HostInstant {
        HostInstant(
            wallNanoseconds: wallNanoseconds + nanoseconds,
            bootNanoseconds: bootNanoseconds + nanoseconds,
            bootID: bootID)
    }

    /// The wall-clock time in UTC, RFC 3339 with nanoseconds and a `Z` suffix.
    public var timestamp: String {
        RFC3339.format(nanosecondsSinceEpoch: wallNanoseconds)
    }
}

extension HostInstant: Codable {
    private enum CodingKeys: String, CodingKey {
        case time
        case bootID = "boot_id"
        case bootNanoseconds = "boot_ns"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let time = try container.decode(String.self, forKey: .time)
        guard let wall = RFC3339.parse(time) else {
            throw DecodingError.dataCorruptedError(
                forKey: .time, in: container,
                debugDescription: "invalid RFC 3339 UTC timestamp '\(time)'; expected e.g. 2026-01-31T12:00:00.5Z")
        }
        wallNanoseconds = wall
        bootID = try container.decode(String.self, forKey: .bootID)
        bootNanoseconds = try container.decode(Int64.self, forKey: .bootNanoseconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(timestamp, forKey: .time)
        try container.encode(bootID, forKey: .bootID)
        try container.encode(bootNanoseconds, forKey: .bootNanoseconds)
    }
}
