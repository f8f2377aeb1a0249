/// A command line of `--name value` pairs, an optional leading word, and everything after `--` kept verbatim.
///
/// The monitor and the recorder are started by Stint itself, so the parser accepts only the exact form that
/// `MonitorArguments` and `MonitorRecordRequest` write: no `--name=value`, no flags without a value.
struct OptionList {
    private(set) var values: [String: [String]] = [:]
    private(set) var positionals: [String] = []
    /// The arguments after `--`, or nil when there was no `--`.
    private(set) var trailing: [String]?

    /// Splits `arguments`, accepting only the option names in `known`.
    ///
    /// - Throws: `MonitorError` for an unknown option or an option without its value.
    init(_ arguments: [String], known: Set<String>, command: String) throws(MonitorError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                trailing = Array(arguments[index...])
                return
            }
            guard argument.hasPrefix("--") else {
                positionals.append(argument)
                continue
            }
            let name = String(argument.dropFirst(2))
            guard known.contains(name) else {
                throw MonitorError("unknown option '\(argument)' for \(command); it is started by stint itself")
            }
            guard index < arguments.count else {
                throw MonitorError("option '\(argument)' of \(command) needs a value")
            }
            values[name, default: []].append(arguments[index])
            index += 1
        }
    }

    /// Returns the last value of `--name`, or throws when it is missing.
    func required(_ name: String, command: String) throws(MonitorError) -> String {
        guard let value = values[name]?.last else {
            throw MonitorError("\(command) needs --\(name); it is started by stint itself")
        }
        return value
    }

    /// Returns the last value of `--name` as an integer, or throws when it is missing or not a whole number.
    func integer<Value: FixedWidthInteger>(_ name: String, as type: Value.Type, command: String) throws(MonitorError)
        -> Value
    {
        let text = try required(name, command: command)
        guard let value = Value(text) else {
            throw MonitorError("invalid --\(name) '\(text)' for \(command): expected a whole number")
        }
        return value
    }

    func optional(_ name: String) -> String? {
        values[name]?.last
    }
}
