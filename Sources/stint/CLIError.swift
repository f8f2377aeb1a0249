/// A command-line failure with its exit code: 64 for a usage error, 1 for a failed operation.
struct CLIError: Error, CustomStringConvertible {
    var exitCode: Int32
    var description: String

    static func usage(_ message: String) -> CLIError {
        CLIError(exitCode: 64, description: message + "; see 'stint help'")
    }

    static func failure(_ message: String) -> CLIError {
        CLIError(exitCode: 1, description: message)
    }
}
