import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on a file. The kernel releases it when the process dies, so a killed command never
/// leaves an instance locked.
final class FileLock {
    private var descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { unlock() }

    /// Takes the lock on `path`, creating the file (mode 0600) if needed. Waits up to `timeout`, or forever when nil.
    static func acquire(path: String, timeout: Duration?, purpose: String) throws -> FileLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DurableFile.systemError("open lock file", path) }
        guard let timeout else {
            while flock(descriptor, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let error = DurableFile.systemError("lock", path)
                    close(descriptor)
                    throw error
                }
            }
            return FileLock(descriptor: descriptor)
        }

        let deadline = ContinuousClock.now + timeout
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let error = DurableFile.systemError("lock", path)
                close(descriptor)
                throw error
            }
            guard ContinuousClock.now < deadline else {
                close(descriptor)
                throw InstancesError(
                    .busy, "\(purpose) is busy with another operation for more than \(timeout); retry when it finishes")
            }
            usleep(20_000)
        }
        return FileLock(descriptor: descriptor)
    }

    func unlock() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }
}
