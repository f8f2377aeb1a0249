import Foundation

/// A line that the guest init prints on the serial console at a fixed point of the boot.
///
/// Each marker is printed alone on its own line. The serial console turns `\n` into `\r\n`,
/// so a line read from the host may end in `\r`.
public enum BootMarker: String, Sendable, CaseIterable {
    /// The init has mounted the pseudo file systems, loaded the modules and started acpid.
    case agentReady
    /// The init has decoded the command and is about to start the program.
    case programStarted

    /// The exact console line, without the line terminator.
    public var line: String {
        switch self {
        case .agentReady: "<<stint:agent-ready>>"
        case .programStarted: "<<stint:program-started>>"
        }
    }

    /// Returns the marker that `consoleLine` is, or `nil` when the line is anything else.
    ///
    /// Trailing `\r` and `\n` characters are ignored, but any other text on the line makes it a non-marker.
    public static func parse(_ consoleLine: String) -> BootMarker? {
        let trimmed = consoleLine.trimmingLineTerminators()
        return allCases.first { $0.line == trimmed }
    }
}

/// The exit status of the guest's program, as the init reports it on the console before it powers off.
public struct ProgramExit: Sendable, Equatable {
    /// The status that the init's `wait` returned: the program's exit code, or 128 plus the signal number.
    public let status: Int32

    /// Creates a report for `status`.
    public init(status: Int32) {
        self.status = status
    }

    static let prefix = "<<stint:program-exited status="
    static let suffix = ">>"

    /// The exact console line, without the line terminator.
    public var line: String { "\(Self.prefix)\(status)\(Self.suffix)" }

    /// Returns the report that ends `consoleLine`, or `nil` when the line does not end with one.
    ///
    /// The report may follow program output that did not end with a newline, so only the end of the
    /// line is matched. Trailing `\r` and `\n` characters are ignored.
    public static func parse(_ consoleLine: String) -> ProgramExit? {
        let trimmed = consoleLine.trimmingLineTerminators()
        guard trimmed.hasSuffix(suffix), let prefixRange = trimmed.range(of: prefix, options: .backwards) else {
            return nil
        }
        let digits = trimmed[prefixRange.upperBound..<trimmed.index(trimmed.endIndex, offsetBy: -suffix.count)]
        guard let status = Int32(digits) else {
            return nil
        }
        return ProgramExit(status: status)
    }
}

extension String {
    func trimmingLineTerminators() -> String {
        var result = Substring(self)
        while let last = result.unicodeScalars.last, last == "\r" || last == "\n" {
            result = result.dropLast()
        }
        return String(result)
    }
}
