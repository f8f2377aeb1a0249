import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Crash-safe file writes: a reader sees the old content or the new one, never a mix, even across a power loss.
enum DurableFile {
    /// Writes `data` to `path` with mode 0600: a temporary file in the same directory (O_EXCL, O_CLOEXEC),
    /// the whole content, fsync, rename over `path`, fsync of the directory.
    /// Throws with the path and errno text; on failure `path` keeps its previous content and no temporary remains.
    ///
    /// With `syncingDirectory` false the last step is left to the caller, who syncs the directory once after
    /// several renames in it. Until then the rename may be lost in a power cut.
    static func write(_ data: Data, to path: String, syncingDirectory: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw systemError("create", temporary) }

        do {
            try writeAll(data, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw systemError("fsync", temporary) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)

        guard rename(temporary, path) == 0 else {
            let error = systemError("rename to \(path)", temporary)
            unlink(temporary)
            throw error
        }
        if syncingDirectory {
            try syncDirectory(directory)
        }
    }

    /// Fsyncs a directory so a rename or a new entry in it survives a power loss.
    static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw systemError("open directory", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw systemError("fsync directory", directory) }
    }

    static func writeAll(_ data: Data, to descriptor: Int32, path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw systemError("write", path)
                }
                offset += written
            }
        }
    }

    static func systemError(_ action: String, _ path: String) -> InstancesError {
        let reason = String(cString: strerror(errno))
        var advice = ""
        if errno == ENOSPC || errno == EDQUOT {
            advice = "; free space on the filesystem of the data directory and retry"
        } else if errno == EACCES || errno == EPERM {
            advice = "; check the permissions of the data directory"
        }
        return InstancesError.failed("\(action) '\(path)' failed: \(reason)\(advice)")
    }
}
