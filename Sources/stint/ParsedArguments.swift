import Instances

/// A command line split into options, flags and positional arguments. Everything after `--` is positional
/// and kept verbatim, so a guest command can carry its own options.
struct ParsedArguments {
    private(set) var options: [String: String] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []
    /// The arguments after `--`, or nil when there was no `--`.
    private(set) var trailing: [String]?

    /// Parses `arguments` given the names (without dashes) of options that take a value and of flags.
    /// Accepts `--name value` and `--name=value`. Throws a usage error for unknown or incomplete options.
    init(_ arguments: [String], valueOptions: Set<String>, flagOptions: Set<String>, shortFlags: [String: String] = [:])
        throws
    {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                trailing = Array(arguments[index...])
                break
            }
            if let long = shortFlags[argument] {
                flags.insert(long)
                continue
            }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-"), argument.count > 1 {
                    throw CLIError.usage("unknown option '\(argument)'")
                }
                positionals.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if valueOptions.contains(name) {
                if let inlineValue {
                    options[name] = inlineValue
                } else {
                    guard index < arguments.count else { throw CLIError.usage("option '--\(name)' needs a value") }
                    options[name] = arguments[index]
                    index += 1
                }
            } else if flagOptions.contains(name), inlineValue == nil {
                flags.insert(name)
            } else {
                throw CLIError.usage("unknown option '--\(name)'")
            }
        }
    }

    /// Returns the single positional argument, or throws a usage error naming what is missing or extra.
    func onePositional(_ what: String) throws -> String {
        guard positionals.count == 1, let value = positionals.first else {
            if positionals.isEmpty { throw CLIError.usage("missing \(what)") }
            throw CLIError.usage(
                "expected one \(what), got \(positionals.count): \(positionals.joined(separator: " "))")
        }
        return value
    }

    func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>, unit: String) throws -> Int {
        guard let text = options[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw CLIError.usage(
                "invalid --\(name) '\(text)': give a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    func seconds(_ name: String, default defaultValue: Double) throws -> Duration {
        guard let text = options[name] else { return .milliseconds(Int64(defaultValue * 1000)) }
        let range = InstanceManager.timeoutRangeSeconds
        // Double(_:) also reads hexadecimal and exponents such as 0x10 and 1e3, which a timeout should not take.
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDecimal = parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard isDecimal, let value = Double(text), range.contains(value) else {
            throw CLIError.usage(
                "invalid --\(name) '\(text)': give seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound)), "
                    + "e.g. 30 or 2.5")
        }
        return .milliseconds(Int64(value * 1000))
    }
}
