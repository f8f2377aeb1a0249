import Foundation

/// A read-only view of a 64-bit little-endian ELF file: enough to see its program header types
/// and to read one section by name.
struct ELFFile {
    /// The program header type of the interpreter request (`PT_INTERP`) that dynamically linked executables carry.
    static let programHeaderTypeInterpreter: UInt32 = 3

    private let data: Data
    private let path: String

    /// Parses the ELF header of `data`, read from `path`.
    ///
    /// - Throws: `GuestImageError` with code `.invalidELF` when `data` is not a 64-bit little-endian ELF file.
    init(data: Data, path: String) throws {
        self.data = data
        self.path = path
        let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
        guard data.count >= 64, Array(data.prefix(4)) == magic else {
            throw GuestImageError(
                .invalidELF, "\(path) is not an ELF file; check that the path names an executable or a kernel module.")
        }
        // e_ident[EI_CLASS] == ELFCLASS64 and e_ident[EI_DATA] == ELFDATA2LSB.
        guard byte(at: 4) == 2, byte(at: 5) == 1 else {
            throw GuestImageError(.invalidELF, "\(path) is not a 64-bit little-endian ELF file; use an x86-64 build.")
        }
    }

    /// Returns the `p_type` of every program header, in file order.
    func programHeaderTypes() throws -> [UInt32] {
        let tableOffset = try integer(at: 0x20, as: UInt64.self)
        let entrySize = try integer(at: 0x36, as: UInt16.self)
        let count = try integer(at: 0x38, as: UInt16.self)
        var types: [UInt32] = []
        for index in 0..<Int(count) {
            let entryOffset = try offset(tableOffset, plus: UInt64(index) * UInt64(entrySize))
            types.append(try integer(at: entryOffset, as: UInt32.self))
        }
        return types
    }

    /// Returns the contents of the section called `name`, or `nil` when the file has no such section.
    func section(named name: String) throws -> Data? {
        let tableOffset = try integer(at: 0x28, as: UInt64.self)
        let entrySize = UInt64(try integer(at: 0x3A, as: UInt16.self))
        let count = Int(try integer(at: 0x3C, as: UInt16.self))
        let namesIndex = UInt64(try integer(at: 0x3E, as: UInt16.self))
        guard count > 0, namesIndex < UInt64(count) else {
            return nil
        }

        let namesHeader = try offset(tableOffset, plus: namesIndex * entrySize)
        let names = try bytes(at: namesHeader + 0x18, sizeAt: namesHeader + 0x20)
        for index in 0..<UInt64(count) {
            let header = try offset(tableOffset, plus: index * entrySize)
            let nameOffset = Int(try integer(at: header, as: UInt32.self))
            guard nameOffset < names.count else {
                continue
            }
            let nameBytes = names[(names.startIndex + nameOffset)...].prefix { $0 != 0 }
            if String(decoding: nameBytes, as: UTF8.self) == name {
                return try bytes(at: header + 0x18, sizeAt: header + 0x20)
            }
        }
        return nil
    }

    private func byte(at position: Int) -> UInt8 {
        data[data.startIndex + position]
    }

    /// Reads the section contents whose `sh_offset` and `sh_size` fields are at the given positions.
    private func bytes(at offsetField: UInt64, sizeAt sizeField: UInt64) throws -> Data {
        let start = try integer(at: offsetField, as: UInt64.self)
        let size = try integer(at: sizeField, as: UInt64.self)
        let end = try offset(start, plus: size)
        guard end <= UInt64(data.count) else {
            throw truncated()
        }
        return data.subdata(in: (data.startIndex + Int(start))..<(data.startIndex + Int(end)))
    }

    private func offset(_ base: UInt64, plus addend: UInt64) throws -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(addend)
        guard !overflow, sum <= UInt64(data.count) else {
            throw truncated()
        }
        return sum
    }

    private func integer<T: FixedWidthInteger>(at position: UInt64, as type: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard position <= UInt64(data.count), UInt64(data.count) - position >= UInt64(size) else {
            throw truncated()
        }
        var value: T = 0
        for index in (0..<size).reversed() {
            value = value << 8 | T(byte(at: Int(position) + index))
        }
        return value
    }

    private func truncated() -> GuestImageError {
        GuestImageError(.invalidELF, "\(path) is a truncated or corrupt ELF file; replace it with an intact copy.")
    }
}
