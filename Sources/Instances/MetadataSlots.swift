import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The two files that hold an instance's metadata, `metadata.0` and `metadata.1`, written in turn.
///
/// Each file starts with one header line, `stint-metadata 1 generation=G length=L crc32=C`, followed by L bytes of
/// JSON and padding spaces. The checksum covers the header up to ` crc32=` and the JSON. A write overwrites the slot
/// that does not hold the current generation, in place, with generation G+1, and syncs it with one `fdatasync`. The
/// files keep their size and blocks, so no rename and no directory sync is needed. A crash during a write leaves that
/// slot with a wrong checksum, and readers take the other slot, which contains the previous version. Readers need no
/// lock: a slot being written fails its checksum until the write is complete.
public struct MetadataSlots: Sendable {
    /// One complete, checksummed version of the metadata.
    public struct Record: Sendable {
        public let slot: Int
        public let generation: UInt64
        public let checksum: UInt32
        /// The JSON document.
        public let body: Data
    }

    /// The state of one slot file. A candidate has a sound header and length. Its checksum is checked only when
    /// it is the newest, so a read checksums one slot unless the newer one is damaged.
    enum Content {
        case missing
        case invalid(String)
        case candidate(Candidate)
    }

    /// A slot whose header and length are sound, with the header bytes its checksum covers besides the body.
    struct Candidate {
        /// The slot's version, with the checksum its header states.
        let record: Record
        let headerPrefix: Substring.UTF8View

        var checksumMatches: Bool {
            CRC32.update(CRC32.update(0, headerPrefix), record.body) == record.checksum
        }
    }

    public static let fileNames = ["metadata.0", "metadata.1"]
    static let magic = "stint-metadata 1"
    /// Slot files grow in steps of this many bytes and shrink only when far larger than needed, so most writes change
    /// no file size.
    static let allocationUnit = 4096
    static let checksumFailure = "fails its checksum (an interrupted write or a damaged file)"
    /// A slot larger than this is treated as damaged rather than read into memory.
    static let maximumFileSize = 16 << 20

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(slot: Int) -> String { directory + "/" + Self.fileNames[slot] }

    /// True when either slot file exists.
    public var exist: Bool {
        Self.fileNames.indices.contains { access(path(slot: $0), F_OK) == 0 }
    }

    /// Returns the newest complete version. Throws `corrupt` when neither slot contains one, naming both files and
    /// what is wrong with each.
    public func readCurrent() throws -> Record {
        var contents = Self.fileNames.indices.map(read(slot:))
        if let current = Self.newest(&contents) { return current }
        let problems = contents.indices.compactMap { describe(contents[$0], slot: $0) }
        let advice =
            "run 'stint doctor --move-aside \((directory as NSString).lastPathComponent)' to move the instance aside"
        if contents.allSatisfy({ if case .missing = $0 { true } else { false } }) {
            throw InstancesError(
                .corrupt,
                "no metadata in '\(directory)': both slot files are missing; \(advice)")
        }
        throw InstancesError(
            .corrupt,
            "no complete metadata in '\(directory)': \(problems.joined(separator: ", ")); \(advice)")
    }

    /// A slot that is missing or not complete.
    public struct Problem: Sendable {
        /// The slot's path and what is wrong with it.
        public let description: String
        /// True when the next save rewrites the slot. A file that is not a regular file is never written through,
        /// so for it saves fail until it is removed.
        public let isRewrittenBySave: Bool
    }

    /// Describes every slot that is missing or not complete, also when the other slot is complete. Empty when both
    /// slots are complete.
    public func problems() -> [Problem] {
        Self.fileNames.indices.compactMap { slot in
            var content = read(slot: slot)
            if case .candidate(let candidate) = content, !candidate.checksumMatches {
                content = .invalid(Self.checksumFailure)
            }
            guard let description = describe(content, slot: slot) else { return nil }
            var info = stat()
            let isRegular = lstat(path(slot: slot), &info) != 0 || info.st_mode & S_IFMT == S_IFREG
            return Problem(description: description, isRewrittenBySave: isRegular)
        }
    }

    /// Returns the slot's path and what is wrong with it, or nil for a candidate.
    private func describe(_ content: Content, slot: Int) -> String? {
        switch content {
        case .missing: return "'\(path(slot: slot))' is missing"
        case .invalid(let reason): return "'\(path(slot: slot))' \(reason)"
        case .candidate: return nil
        }
    }

    /// Writes a new instance's first version into both slots and syncs the directory. The caller publishes the
    /// directory afterwards.
    public func create(_ body: Data) throws {
        for slot in Self.fileNames.indices {
            try write(body, generation: 1, slot: slot)
        }
        try DurableFile.syncDirectory(directory)
    }

    /// Writes `body` as the next generation into the slot that does not hold the current one. The caller holds the
    /// instance lock. On failure the current version stays readable.
    ///
    /// The write is read back before it returns. A slot that does not then read as the new generation fails the
    /// save, so the instance never stays silently at its previous version. Another process changing the file, or a
    /// slot that cannot hold the data, would cause that.
    public func write(_ body: Data) throws {
        var contents = Self.fileNames.indices.map(read(slot:))
        let current = Self.newest(&contents)
        let target = current.map { 1 - $0.slot } ?? 0
        let generation = (current?.generation ?? 0) + 1
        try write(body, generation: generation, slot: target)
        if case .missing = contents[target] {
            try DurableFile.syncDirectory(directory)
        }
        var written = [read(slot: target)]
        guard let record = Self.newest(&written), record.generation == generation else {
            var problem = "does not read back"
            if case .invalid(let reason) = written[0] { problem = reason }
            throw InstancesError.failed(
                "writing the metadata of '\(directory)' failed: after the write, '\(path(slot: target))' \(problem); "
                    + "run 'stint doctor' and remove that file so the next save recreates it")
        }
    }

    /// Writes one slot in place: the header, `body`, and padding up to whole allocation units. The file keeps its
    /// size when that fits, so most writes change no block allocation, and shrinks when it is far larger than
    /// needed. Symbolic links and other files that are not regular are rejected, never followed.
    private func write(_ body: Data, generation: UInt64, slot: Int) throws {
        let path = path(slot: slot)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            if errno == ELOOP || errno == EISDIR {
                throw InstancesError(
                    .corrupt,
                    "metadata slot '\(path)' is not a regular file; remove it so the next save recreates it (the other "
                        + "slot contains the current metadata)")
            }
            throw DurableFile.systemError("open", path)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw InstancesError(
                .corrupt, "metadata slot '\(path)' is not a regular file; remove it so the next save recreates it")
        }
        var bytes = Self.encode(body, generation: generation)
        let unit = Self.allocationUnit
        let needed = (bytes.count + unit - 1) / unit * unit
        let existingSize = Int(info.st_size)
        let size = existingSize <= needed + 4 * unit ? max(existingSize, needed) : needed
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: size - bytes.count))
        if existingSize > size {
            guard ftruncate(descriptor, off_t(size)) == 0 else { throw DurableFile.systemError("truncate", path) }
        }
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = pwrite(descriptor, base + offset, buffer.count - offset, off_t(offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DurableFile.systemError("write", path)
                }
                offset += written
            }
        }
        guard fdatasync(descriptor) == 0 else { throw DurableFile.systemError("fdatasync", path) }
    }

    /// Returns the header line, the JSON and a newline of one slot.
    static func encode(_ body: Data, generation: UInt64) -> [UInt8] {
        let prefix = Array("\(magic) generation=\(generation) length=\(body.count)".utf8)
        let checksum = CRC32.update(CRC32.update(0, prefix), body)
        var bytes = prefix
        bytes.reserveCapacity(prefix.count + body.count + 32)
        bytes.append(contentsOf: " crc32=\(hex(checksum))\n".utf8)
        bytes.append(contentsOf: body)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    func read(slot: Int) -> Content {
        let path = path(slot: slot)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            if errno == ELOOP { return .invalid("is a symbolic link, which Stint never follows") }
            return errno == ENOENT ? .missing : .invalid("cannot be opened: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            return .invalid("cannot be examined: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { return .invalid("is not a regular file") }
        let size = Int(info.st_size)
        guard size <= Self.maximumFileSize else { return .invalid("is larger than \(Self.maximumFileSize) bytes") }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress.map { $0 + filled }, size - filled, off_t(filled))
            }
            if count < 0 {
                if errno == EINTR { continue }
                return .invalid("cannot be read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            filled += count
        }
        return Self.parse(bytes[0..<filled], slot: slot)
    }

    /// Checks one slot's header and length; `Candidate.checksumMatches` checks the rest.
    static func parse(_ bytes: ArraySlice<UInt8>, slot: Int) -> Content {
        guard !bytes.isEmpty else { return .invalid("is empty") }
        guard let newline = bytes.prefix(128).firstIndex(of: UInt8(ascii: "\n")),
            let header = String(validating: bytes[bytes.startIndex..<newline], as: UTF8.self),
            header.hasPrefix(magic + " ")
        else {
            return .invalid("does not start with a '\(magic)' header line")
        }
        var fields: [Substring: Substring] = [:]
        for field in header.dropFirst(magic.count + 1).split(separator: " ") {
            guard let equals = field.firstIndex(of: "=") else { continue }
            fields[field[..<equals]] = field[field.index(after: equals)...]
        }
        guard let generation = fields["generation"].flatMap({ UInt64($0) }), generation < UInt64(Int64.max),
            let length = fields["length"].flatMap({ Int($0) }),
            let stored = fields["crc32"].flatMap({ UInt32($0, radix: 16) }),
            let crcRange = header.range(of: " crc32=")
        else {
            return .invalid("has a damaged header line")
        }
        let bodyStart = newline + 1
        guard length >= 0, length <= bytes.endIndex - bodyStart else {
            return .invalid("is shorter than the \(length) bytes its header announces (an interrupted write)")
        }
        let body = Data(bytes[bodyStart..<(bodyStart + length)])
        return .candidate(
            Candidate(
                record: Record(slot: slot, generation: generation, checksum: stored, body: body),
                headerPrefix: header[..<crcRange.lowerBound].utf8))
    }

    /// Returns the complete record with the highest generation, or slot 0's when both have the same. Checks the
    /// checksums newest first and marks a slot that fails as invalid in `contents`.
    static func newest(_ contents: inout [Content]) -> Record? {
        let order = contents.indices.sorted { left, right in
            func generation(_ index: Int) -> UInt64 {
                if case .candidate(let candidate) = contents[index] { return candidate.record.generation }
                return 0
            }
            return (generation(left), right) > (generation(right), left)
        }
        for index in order {
            guard case .candidate(let candidate) = contents[index] else { continue }
            if candidate.checksumMatches { return candidate.record }
            contents[index] = .invalid(Self.checksumFailure)
        }
        return nil
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
