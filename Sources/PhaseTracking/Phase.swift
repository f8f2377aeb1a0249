/// The accounting name of an instance's state. The raw values are stable: they appear on the API,
/// in the instance metadata and in the journal.
public enum Phase: String, Codable, CaseIterable, Sendable, Comparable {
    case created
    case initializing
    case running
    case paused
    case shutdown
    case standby
    case stopped

    /// Orders phases by their lifecycle position, so tables and JSON objects list them in a stable order.
    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        guard let left = allCases.firstIndex(of: lhs), let right = allCases.firstIndex(of: rhs) else {
            return false
        }
        return left < right
    }
}
