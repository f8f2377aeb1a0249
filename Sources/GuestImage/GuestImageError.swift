/// The error that every `GuestImage` operation throws.
///
/// `code` is the machine-readable category and `message` names the failing value and the next step.
public struct GuestImageError: Error, CustomStringConvertible, Sendable {
    /// The category of a failure.
    public enum Code: String, Sendable {
        /// A host tool (apt-get, dpkg-deb, xz, ...) is not installed.
        case toolNotFound
        /// A host tool exited with a non-zero status.
        case toolFailed
        /// The kernel package name or its files could not be found.
        case kernelNotFound
        /// A kernel module or one of its dependencies is missing from the kernel package.
        case moduleNotFound
        /// Busybox is missing or not a statically linked executable.
        case invalidBusybox
        /// A file that should be ELF could not be parsed.
        case invalidELF
        /// The command passed to the guest is empty or contains a NUL byte.
        case invalidCommand
        /// The encoded kernel command line is longer than the kernel accepts.
        case commandLineTooLong
        /// Reading, writing, renaming or locking a file failed.
        case fileSystem
    }

    /// The category of the failure.
    public let code: Code
    /// A sentence that names the failing value and states what to do next.
    public let message: String

    /// Creates an error with a category and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
