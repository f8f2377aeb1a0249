import Glibc

/// The error type of the `Hypervisor` module.
///
/// `message` names the value involved and the next step to take. `code` lets callers branch without parsing text.
public struct HypervisorError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of failure.
    public enum Code: String, Sendable, Equatable {
        /// An argument was rejected before any system call, for example a socket path over 107 bytes.
        case invalidArgument
        /// The executable was not found in `PATH` or is not executable.
        case executableNotFound
        /// `posix_spawn` or one of its preparations failed.
        case spawnFailed
        /// A system call on a socket or file failed.
        case systemCallFailed
        /// The operation did not finish before its timeout.
        case timedOut
        /// QEMU closed the QMP socket, which normally means that it exited.
        case disconnected
        /// QEMU sent something that is not valid QMP.
        case protocolError
        /// QEMU replied to a command with an `error` object.
        case commandFailed
        /// A migration ended in the `failed` or `cancelled` state.
        case migrationFailed
    }

    public let code: Code
    public let message: String
    /// The `class` field of QEMU's error reply (for example `GenericError`), set only for `.commandFailed`.
    public let qmpErrorClass: String?

    public init(_ code: Code, _ message: String, qmpErrorClass: String? = nil) {
        self.code = code
        self.message = message
        self.qmpErrorClass = qmpErrorClass
    }

    public var description: String { message }
}

extension HypervisorError {
    /// Builds a `.systemCallFailed` error from the current `errno`.
    static func systemCall(_ call: String, on subject: String, errno code: Int32, hint: String) -> HypervisorError {
        HypervisorError(.systemCallFailed, "\(call) failed on \(subject): \(errnoDescription(code)). \(hint)")
    }
}

/// Returns the text of `strerror` for an `errno` value, followed by the number.
func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
}
