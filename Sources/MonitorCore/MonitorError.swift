#if canImport(Glibc)
    import Glibc
#endif

/// The error type of the `MonitorCore` module: an invalid monitor or recorder command line, or a failed system call
/// of the monitor. `message` names the value at fault and the next step.
public struct MonitorError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// Returns an error for the failed system call `action` on `subject`, with the text of the current `errno`.
    static func system(_ action: String, _ subject: String, advice: String) -> MonitorError {
        MonitorError("\(action) '\(subject)' failed: \(errnoText(errno)); \(advice)")
    }
}

/// Returns the C library's text for `code`, e.g. "No such file or directory".
func errnoText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
