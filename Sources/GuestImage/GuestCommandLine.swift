import Foundation

/// The kernel command line that boots a Stint guest and carries the program's argv to the guest init.
///
/// The argv travels as one parameter, `stint.cmd=`, followed by each argument base64-encoded (standard
/// alphabet, with padding) and joined by `,`. Base64 has no comma, space or quote, so the kernel keeps the
/// parameter as one word, and the init decodes each argument with busybox `base64 -d` into its own word,
/// which keeps spaces, quotes, newlines, `$` and non-ASCII text. An empty argument is an empty field.
public enum GuestCommandLine {
    /// The parameters that come before `stint.cmd=`.
    ///
    /// `panic=-1` reboots at once after a panic, which ends QEMU when Stint launches it with `-no-reboot`.
    /// NOTE: `tsc=reliable`, `no_timer_check` and `i8042.noaux` were measured under TCG (QEMU 7.2, Debian
    /// kernel 6.1.0-57-cloud-amd64, 2 shared cores) and made no difference beyond the run-to-run noise of
    /// about 300 ms, so they are not set.
    public static let baseParameters = ["console=ttyS0", "quiet", "loglevel=3", "panic=-1"]

    /// The name of the parameter that carries the argv, including `=`.
    public static let commandParameterPrefix = "stint.cmd="

    /// The maximum length of the command line in bytes.
    ///
    /// The x86 kernel's `COMMAND_LINE_SIZE` is 2048 bytes including the terminating NUL byte.
    public static let maximumLength = 2047

    /// Returns the kernel command line that runs `command` (argv, program first) in the guest.
    ///
    /// - Throws: `GuestImageError` with code `.invalidCommand` when `command` is empty, its first
    ///   element is empty or an element contains a NUL byte, and `.commandLineTooLong` when the result
    ///   is longer than `maximumLength` bytes.
    public static func kernelCommandLine(command: [String]) throws -> String {
        guard let program = command.first else {
            throw GuestImageError(.invalidCommand, "The guest command is empty; pass at least the program to run.")
        }
        guard !program.isEmpty else {
            throw GuestImageError(.invalidCommand, "The guest program name is empty; pass a program name or path.")
        }
        for (index, argument) in command.enumerated() where argument.utf8.contains(0) {
            throw GuestImageError(
                .invalidCommand,
                "Argument \(index) of the guest command contains a NUL byte, which an argv cannot carry; remove it."
            )
        }

        let encoded = command.map { Data($0.utf8).base64EncodedString() }.joined(separator: ",")
        let line = (baseParameters + [commandParameterPrefix + encoded]).joined(separator: " ")
        let length = line.utf8.count
        guard length <= maximumLength else {
            throw GuestImageError(
                .commandLineTooLong,
                "The kernel command line for this guest command is \(length) bytes, more than the limit of "
                    + "\(maximumLength) bytes; base64 makes each argument about 4/3 as long, so shorten the arguments "
                    + "or pass the data another way."
            )
        }
        return line
    }

    /// Returns the argv that `kernelCommandLine` carries, or `nil` when it has no valid `stint.cmd=` parameter.
    ///
    /// This mirrors what the guest init does and lets the host check an encoded line.
    public static func command(fromKernelCommandLine line: String) -> [String]? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let parameter = words.last(where: { $0.hasPrefix(commandParameterPrefix) }) else {
            return nil
        }
        let fields = parameter.dropFirst(commandParameterPrefix.count)
            .split(separator: ",", omittingEmptySubsequences: false)
        var arguments: [String] = []
        for field in fields {
            guard let data = Data(base64Encoded: String(field)), let argument = String(data: data, encoding: .utf8)
            else {
                return nil
            }
            arguments.append(argument)
        }
        return arguments
    }
}
