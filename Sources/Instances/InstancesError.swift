/// The error type of the `Instances` module. `message` names the value at fault and the next step.
public struct InstancesError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure, which the CLI and the API map to exit codes and HTTP statuses.
    public enum Code: String, Sendable {
        case invalidArgument = "invalid_argument"
        case notFound = "not_found"
        case conflict = "conflict"
        case busy = "busy"
        case corrupt = "corrupt"
        case failed = "failed"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> InstancesError { InstancesError(.invalidArgument, message) }
    static func conflict(_ message: String) -> InstancesError { InstancesError(.conflict, message) }
    static func failed(_ message: String) -> InstancesError { InstancesError(.failed, message) }

    static func notFound(_ reference: String) -> InstancesError {
        InstancesError(.notFound, "no instance named or with id '\(reference)'; list instances with 'stint ps'")
    }

    /// Wraps an error from a lower layer with what Stint was doing.
    static func failed(_ action: String, _ error: any Error) -> InstancesError {
        if let error = error as? InstancesError { return error }
        return InstancesError(.failed, "\(action) failed: \(error)")
    }
}
