/// Validation and generation of instance ids and names.
public enum InstanceIdentity {
    /// Ids are 16 lowercase hexadecimal digits, so an id is always safe as a single path component.
    public static let idLength = 16
    /// The maximum length of a name, the length of a DNS label.
    public static let maximumNameLength = 63

    /// Returns a new random id.
    public static func generateID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: idLength - hex.count) + hex
    }

    /// Returns a name for an instance created without one: `vm-` and eight hexadecimal digits.
    public static func generateName() -> String {
        "vm-" + String(generateID().prefix(8))
    }

    /// True when `text` has the form of an id.
    public static func isValidID(_ text: String) -> Bool {
        text.utf8.count == idLength && text.utf8.allSatisfy { isDigit($0) || ($0 >= 97 && $0 <= 102) }
    }

    /// Throws unless `name` is 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter
    /// or digit, and not of the form of an id (which would make references ambiguous).
    public static func validateName(_ name: String) throws {
        let bytes = Array(name.utf8)
        let rule =
            "use 1 to \(maximumNameLength) lowercase letters, digits and hyphens, starting and ending with a letter or digit"
        guard !bytes.isEmpty, bytes.count <= maximumNameLength else {
            throw InstancesError.invalid("invalid instance name '\(printable(name))': \(rule)")
        }
        let allowed = bytes.allSatisfy { isDigit($0) || isLowercaseLetter($0) || $0 == UInt8(ascii: "-") }
        guard allowed, bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw InstancesError.invalid("invalid instance name '\(printable(name))': \(rule)")
        }
        guard !isValidID(name) else {
            throw InstancesError.invalid(
                "invalid instance name '\(name)': 16 hexadecimal digits look like an instance id; choose another name")
        }
    }

    /// Makes user input safe to echo in a message: control characters escaped, at most 80 characters.
    static func printable(_ text: String) -> String {
        let escaped = text.unicodeScalars.map { scalar -> String in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return escaped.count > 80 ? String(escaped.prefix(80)) + "…" : escaped
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    private static func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= 97 && byte <= 122 }
}
