import Glibc

/// A connected, blocking Unix stream socket with timeouts through `poll`.
final class UnixSocketConnection {
    /// The maximum socket path length in bytes, because `sun_path` is 108 bytes long, including the terminating NUL.
    static let maximumPathLength = 107

    /// Time between two connection attempts while the socket is missing or refuses connections.
    static let retryIntervalMicroseconds: UInt32 = 1_000

    private(set) var descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    /// Connects to `path`, retrying every millisecond while the socket does not exist yet or refuses connections.
    ///
    /// A failed `connect` on a missing socket costs a few microseconds, so a short interval wastes little and lets a
    /// caller that launched QEMU a moment ago connect as soon as QEMU listens.
    ///
    /// - Throws: `.invalidArgument` for a path over 107 bytes, `.timedOut` when no connection succeeds before
    ///   `timeout`, `.systemCallFailed` for any other `connect` error.
    static func connect(to path: String, timeout: Duration) throws -> UnixSocketConnection {
        let pathBytes = Array(path.utf8)
        guard pathBytes.count <= maximumPathLength else {
            throw HypervisorError(
                .invalidArgument,
                "Unix socket path \(path) is \(pathBytes.count) bytes, over the limit of \(maximumPathLength). "
                    + "Use a shorter data directory."
            )
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
        }

        let deadline = Deadline(after: timeout)
        var lastError: Int32 = 0
        repeat {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else {
                throw HypervisorError.systemCall(
                    "socket", on: path, errno: errno, hint: "Check the process's descriptor limit.")
            }
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 {
                return UnixSocketConnection(descriptor: descriptor)
            }
            lastError = errno
            Glibc.close(descriptor)
            guard lastError == ENOENT || lastError == ECONNREFUSED || lastError == EINTR || lastError == EAGAIN else {
                throw HypervisorError.systemCall(
                    "connect", on: path, errno: lastError, hint: "Check that the path is a QMP socket and readable.")
            }
            usleep(Self.retryIntervalMicroseconds)
        } while !deadline.hasPassed
        throw HypervisorError(
            .timedOut,
            "Connecting to QMP socket \(path) timed out after \(timeout.secondsValue) s (last error: "
                + "\(errnoDescription(lastError))). Check that QEMU is running and its vmm log for errors."
        )
    }

    /// Sends all of `bytes`, looping on short writes and `EINTR`. With `descriptorToPass`, the first `sendmsg`
    /// carries that descriptor as `SCM_RIGHTS` ancillary data.
    ///
    /// - Throws: `.disconnected` when the peer closed the socket, `.systemCallFailed` for other errors.
    func send(_ bytes: [UInt8], passing descriptorToPass: Int32? = nil) throws {
        var offset = 0
        var pendingDescriptor = descriptorToPass
        while offset < bytes.count {
            let sent: Int
            if let descriptor = pendingDescriptor {
                sent = bytes[offset...].withUnsafeBytes { sendWithRights($0, descriptor: descriptor) }
            } else {
                sent = bytes[offset...].withUnsafeBytes {
                    Glibc.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
            }
            if sent < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EPIPE || code == ECONNRESET {
                    throw HypervisorError(.disconnected, "QEMU closed the QMP socket while a command was being sent.")
                }
                throw HypervisorError.systemCall(
                    "send", on: "the QMP socket", errno: code, hint: "Check that QEMU is still running.")
            }
            pendingDescriptor = nil
            offset += sent
        }
    }

    /// Calls `sendmsg` once with `descriptor` in an `SCM_RIGHTS` control message and returns its result.
    ///
    /// The control buffer is laid out by hand because Swift does not import the `CMSG_*` macros: a `cmsghdr`,
    /// then the `Int32` descriptor, padded to the alignment of `size_t` (`CMSG_SPACE(sizeof(int))`).
    private func sendWithRights(_ payload: UnsafeRawBufferPointer, descriptor: Int32) -> Int {
        let alignment = MemoryLayout<Int>.size
        let headerLength = (MemoryLayout<cmsghdr>.size + alignment - 1) & ~(alignment - 1)
        let dataLength = MemoryLayout<Int32>.size
        let controlLength = headerLength + ((dataLength + alignment - 1) & ~(alignment - 1))
        let control = UnsafeMutableRawPointer.allocate(
            byteCount: controlLength, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: controlLength)

        let header = control.bindMemory(to: cmsghdr.self, capacity: 1)
        header.pointee.cmsg_len = headerLength + dataLength
        header.pointee.cmsg_level = SOL_SOCKET
        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
        control.storeBytes(of: descriptor, toByteOffset: headerLength, as: Int32.self)

        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
            var message = msghdr()
            message.msg_iov = vectorPointer
            message.msg_iovlen = 1
            message.msg_control = control
            message.msg_controllen = controlLength
            return sendmsg(self.descriptor, &message, Int32(MSG_NOSIGNAL))
        }
    }

    /// Waits until data arrives or `deadline` passes, then reads what is available.
    ///
    /// - Returns: the bytes read, an empty array when the peer closed the connection, or `nil` on timeout.
    /// - Throws: `.systemCallFailed` when `poll` or `recv` fails with anything but `EINTR` or a reset connection.
    func receive(before deadline: Deadline) throws -> [UInt8]? {
        while true {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, deadline.remainingMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw HypervisorError.systemCall(
                    "poll", on: "the QMP socket", errno: errno, hint: "Check that QEMU is still running.")
            }
            if ready == 0 {
                return nil
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                if code == ECONNRESET { return [] }
                throw HypervisorError.systemCall(
                    "recv", on: "the QMP socket", errno: code, hint: "Check that QEMU is still running.")
            }
            return Array(buffer[0..<count])
        }
    }

    func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
