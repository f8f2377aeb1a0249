import Foundation

/// One member read back from a newc archive.
struct ParsedNewcMember: Equatable {
    let path: String
    let mode: UInt32
    let linkCount: UInt32
    let rdevMajor: UInt32
    let rdevMinor: UInt32
    let contents: Data
}

/// A reader for newc cpio archives, written independently of the writer so that the tests check the format.
enum NewcParser {
    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ archive: Data) throws -> [ParsedNewcMember] {
        let bytes = [UInt8](archive)
        var position = 0
        var members: [ParsedNewcMember] = []

        func field(_ index: Int) throws -> UInt32 {
            let start = position + 6 + index * 8
            let text = String(decoding: bytes[start..<(start + 8)], as: UTF8.self)
            guard let value = UInt32(text, radix: 16) else {
                throw FormatError(description: "field \(index) at offset \(position) is not hexadecimal: \(text)")
            }
            return value
        }

        func aligned(_ offset: Int) -> Int { (offset + 3) & ~3 }

        while true {
            guard position + 110 <= bytes.count else {
                throw FormatError(description: "archive ends at \(bytes.count) without a trailer")
            }
            let magic = String(decoding: bytes[position..<(position + 6)], as: UTF8.self)
            guard magic == "070701" else {
                throw FormatError(description: "bad magic \(magic) at offset \(position)")
            }
            let mode = try field(1)
            let linkCount = try field(4)
            let fileSize = Int(try field(6))
            let rdevMajor = try field(9)
            let rdevMinor = try field(10)
            let nameSize = Int(try field(11))
            let nameStart = position + 110
            guard nameSize >= 1, bytes[nameStart + nameSize - 1] == 0 else {
                throw FormatError(description: "name at offset \(nameStart) is not NUL-terminated")
            }
            let path = String(decoding: bytes[nameStart..<(nameStart + nameSize - 1)], as: UTF8.self)
            let dataStart = aligned(nameStart + nameSize)
            let contents = Data(bytes[dataStart..<(dataStart + fileSize)])
            position = aligned(dataStart + fileSize)
            if path == "TRAILER!!!" {
                guard position == bytes.count else {
                    throw FormatError(description: "\(bytes.count - position) bytes follow the trailer")
                }
                return members
            }
            members.append(
                ParsedNewcMember(
                    path: path, mode: mode, linkCount: linkCount, rdevMajor: rdevMajor, rdevMinor: rdevMinor,
                    contents: contents))
        }
    }
}
