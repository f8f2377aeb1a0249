#if canImport(Glibc)
    import Glibc
#endif

/// RFC 3339 timestamps in UTC with a `Z` suffix, independent of the host's time zone.
public enum RFC3339 {
    /// Formats nanoseconds since 1970-01-01 UTC with nine fractional digits, e.g. `2026-12-04T20:17:42.000000123Z`.
    public static func format(nanosecondsSinceEpoch: Int64) -> String {
        format(nanosecondsSinceEpoch: nanosecondsSinceEpoch, fractionDigits: 9)
    }

    /// Formats with `fractionDigits` (0 to 9) digits after the second, truncating the rest.
    public static func format(nanosecondsSinceEpoch: Int64, fractionDigits: Int) -> String {
        let (seconds, nanoseconds) = floorDivide(nanosecondsSinceEpoch, 1_000_000_000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text =
            pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
        let digits = max(0, min(9, fractionDigits))
        if digits > 0 {
            let fraction = pad(Int(nanoseconds), 9)
            text += "." + fraction.prefix(digits)
        }
        return text + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into nanoseconds since 1970-01-01 UTC.
    /// Returns nil for anything else, including moments outside what 64-bit nanoseconds hold (about the years 1678
    /// to 2262). Fractions beyond nanoseconds are truncated.
    public static func parse(_ text: String) -> Int64? {
        let characters = Array(text.utf8)
        guard characters.count >= 20 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int? {
            var value = 0
            for index in start..<(start + length) {
                let character = characters[index]
                guard character >= 48, character <= 57 else { return nil }
                value = value * 10 + Int(character - 48)
            }
            return value
        }
        guard let year = number(0, 4), characters[4] == UInt8(ascii: "-"),
            let month = number(5, 2), characters[7] == UInt8(ascii: "-"),
            let day = number(8, 2), characters[10] == UInt8(ascii: "T") || characters[10] == UInt8(ascii: "t"),
            let hour = number(11, 2), characters[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), characters[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }

        var index = 19
        var fractionNanoseconds: Int64 = 0
        if index < characters.count, characters[index] == UInt8(ascii: ".") {
            index += 1
            var digitCount = 0
            while index < characters.count, characters[index] >= 48, characters[index] <= 57 {
                if digitCount < 9 {
                    fractionNanoseconds = fractionNanoseconds * 10 + Int64(characters[index] - 48)
                }
                digitCount += 1
                index += 1
            }
            guard digitCount > 0 else { return nil }
            for _ in min(digitCount, 9)..<9 { fractionNanoseconds *= 10 }
        }

        guard index < characters.count else { return nil }
        var offsetSeconds = 0
        switch characters[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard characters.count == index + 6, let offsetHour = number(index + 1, 2),
                characters[index + 3] == UInt8(ascii: ":"), let offsetMinute = number(index + 4, 2)
            else { return nil }
            let sign = characters[index] == UInt8(ascii: "+") ? 1 : -1
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
            index += 6
        default:
            return nil
        }
        guard index == characters.count else { return nil }

        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts)) - Int64(offsetSeconds)
        let (scaled, overflowed) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflowed else { return nil }
        let (total, sumOverflowed) = scaled.addingReportingOverflow(fractionNanoseconds)
        return sumOverflowed ? nil : total
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}
