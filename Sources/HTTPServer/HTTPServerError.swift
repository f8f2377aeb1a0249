/// An error thrown by the HTTP layer. `code` is stable, `message` names the value and the next step.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable {
        /// The host is not an IPv4 or IPv6 address literal.
        case invalidHost = "invalid_host"
        /// A configuration value is out of range.
        case invalidConfiguration = "invalid_configuration"
        /// libmicrohttpd could not start the daemon, for example because the port is in use.
        case startFailed = "start_failed"
        /// `start()` was called on a server that is running or was shut down.
        case alreadyStarted = "already_started"
        /// A request path contains an encoded `/`, a `.` or `..` segment, a NUL byte or an invalid escape.
        case invalidPath = "invalid_path"
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence that names the offending value and the next step.
    public let message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
