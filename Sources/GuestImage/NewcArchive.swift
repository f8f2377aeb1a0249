import Foundation

/// One member of a newc cpio archive. Every member is owned by root (uid and gid 0) and has mtime 0,
/// so the same members always produce the same bytes.
struct NewcEntry: Equatable {
    enum Kind: Equatable {
        case directory
        case regularFile(Data)
        case symbolicLink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
    }

    /// Path inside the archive, without a leading `/` (the kernel's initramfs unpacker accepts both).
    let path: String
    /// Permission bits, for example `0o755`.
    let permissions: UInt32
    let kind: Kind
}

/// A writer for the SVR4 "new ASCII" cpio format (magic `070701`) that the kernel's initramfs unpacker reads.
///
/// Each member is a 110-byte header of `070701` followed by 13 eight-digit hexadecimal fields, then the
/// NUL-terminated path, padded to a multiple of 4 bytes, then the contents, padded to a multiple of 4 bytes.
/// The archive ends with a member named `TRAILER!!!`.
enum NewcArchive {
    static let magic = "070701"
    static let trailerName = "TRAILER!!!"

    static let fileTypeDirectory: UInt32 = 0o040000
    static let fileTypeRegular: UInt32 = 0o100000
    static let fileTypeSymbolicLink: UInt32 = 0o120000
    static let fileTypeCharacterDevice: UInt32 = 0o020000

    /// Returns the archive that contains `entries` in order, followed by the trailer.
    ///
    /// Inode numbers are assigned from 1 in order, and every regular file has one link, so the unpacker
    /// never treats two members as hard links of each other.
    static func archive(_ entries: [NewcEntry]) -> Data {
        var output = Data()
        for (index, entry) in entries.enumerated() {
            let contents: Data
            let fileType: UInt32
            var linkCount: UInt32 = 1
            var deviceMajor: UInt32 = 0
            var deviceMinor: UInt32 = 0
            switch entry.kind {
            case .directory:
                contents = Data()
                fileType = fileTypeDirectory
                linkCount = 2
            case .regularFile(let data):
                contents = data
                fileType = fileTypeRegular
            case .symbolicLink(let target):
                contents = Data(target.utf8)
                fileType = fileTypeSymbolicLink
            case .characterDevice(let major, let minor):
                contents = Data()
                fileType = fileTypeCharacterDevice
                deviceMajor = major
                deviceMinor = minor
            }
            let header = Header(
                inode: UInt32(index + 1),
                mode: fileType | (entry.permissions & 0o7777),
                linkCount: linkCount,
                fileSize: UInt32(contents.count),
                deviceMajor: deviceMajor,
                deviceMinor: deviceMinor
            )
            append(header: header, path: entry.path, contents: contents, to: &output)
        }
        append(
            header: Header(inode: 0, mode: 0, linkCount: 1, fileSize: 0, deviceMajor: 0, deviceMinor: 0),
            path: trailerName, contents: Data(), to: &output)
        return output
    }

    private struct Header {
        let inode: UInt32
        let mode: UInt32
        let linkCount: UInt32
        let fileSize: UInt32
        let deviceMajor: UInt32
        let deviceMinor: UInt32
    }

    private static func append(header: Header, path: String, contents: Data, to output: inout Data) {
        let pathBytes = Data(path.utf8) + [0]
        // Field order: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
        // namesize, check. The member itself lives on no device, so devmajor and devminor are 0.
        let fields: [UInt32] = [
            header.inode, header.mode, 0, 0, header.linkCount, 0, header.fileSize, 0, 0,
            header.deviceMajor, header.deviceMinor, UInt32(pathBytes.count), 0,
        ]
        var text = magic
        for field in fields {
            let hex = String(field, radix: 16, uppercase: true)
            text += String(repeating: "0", count: 8 - hex.count) + hex
        }
        output.append(Data(text.utf8))
        output.append(pathBytes)
        padToFourBytes(&output)
        output.append(contents)
        padToFourBytes(&output)
    }

    private static func padToFourBytes(_ output: inout Data) {
        let remainder = output.count % 4
        if remainder != 0 {
            output.append(Data(repeating: 0, count: 4 - remainder))
        }
    }
}
