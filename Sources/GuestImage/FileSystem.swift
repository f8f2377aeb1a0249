import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// File operations with the durability and error messages that the image store needs.
enum FileSystem {
    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw GuestImageError(
                .fileSystem, "Could not create directory \(path): \(error); check the permissions of its parent.")
        }
    }

    static func contentsOfDirectory(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw GuestImageError(
                .fileSystem, "Could not list directory \(path): \(error); check that it exists and is readable.")
        }
    }

    static func readFile(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GuestImageError(.fileSystem, "Could not read \(path); check that the file exists and is readable.")
        }
        return data
    }

    static func removeItem(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw GuestImageError(.fileSystem, "Could not remove \(path): \(error); remove it by hand.")
        }
    }

    static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not rename \(source) to \(destination): \(String(cString: strerror(errno))); check the permissions of the directory."
            )
        }
    }

    /// Writes `data` to `path` so that the file under that name is either the old file or the complete new one.
    ///
    /// The data goes to a new temp file in the same directory (`O_EXCL`, `O_CLOEXEC`), which is written in
    /// full, fsynced and renamed over `path`. Then the directory is fsynced so that the rename survives a crash.
    static func writeAtomically(_ data: Data, to path: String, permissions: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporaryPath = directory + "/.tmp-" + UUID().uuidString
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard descriptor >= 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not create \(temporaryPath): \(String(cString: strerror(errno))); check the permissions of \(directory)."
            )
        }
        var succeeded = false
        defer {
            close(descriptor)
            if !succeeded {
                unlink(temporaryPath)
            }
        }

        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var written = 0
            while written < buffer.count {
                let result = write(descriptor, buffer.baseAddress?.advanced(by: written), buffer.count - written)
                if result < 0 && errno == EINTR {
                    continue
                }
                guard result > 0 else {
                    throw GuestImageError(
                        .fileSystem,
                        "Could not write \(temporaryPath): \(String(cString: strerror(errno))); check the free space in \(directory)."
                    )
                }
                written += result
            }
        }
        // The mode passed to open() is reduced by the umask, so set it explicitly.
        guard fchmod(descriptor, permissions) == 0, fsync(descriptor) == 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not set the mode of or fsync \(temporaryPath): \(String(cString: strerror(errno))); check the file system of \(directory)."
            )
        }
        try rename(temporaryPath, to: path)
        succeeded = true
        try synchronizeDirectory(directory)
    }

    /// Fsyncs `directory` so that renames and creations inside it are durable.
    static func synchronizeDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not open directory \(directory): \(String(cString: strerror(errno))); check its permissions.")
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not fsync directory \(directory): \(String(cString: strerror(errno))); check its file system.")
        }
    }

    /// Runs `body` while holding an exclusive `flock` on `lockPath`, which is created when missing.
    ///
    /// The lock is released when the descriptor is closed, so a killed process never leaves it held.
    static func withExclusiveLock<T>(_ lockPath: String, _ body: () throws -> T) throws -> T {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw GuestImageError(
                .fileSystem,
                "Could not open lock file \(lockPath): \(String(cString: strerror(errno))); check the permissions of its directory."
            )
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw GuestImageError(
                    .fileSystem,
                    "Could not lock \(lockPath): \(String(cString: strerror(errno))); check that the file system supports flock."
                )
            }
        }
        return try body()
    }
}
