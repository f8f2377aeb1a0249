import Foundation
import Glibc

/// A synchronous client for the QEMU Machine Protocol (QMP) over a Unix socket.
///
/// QMP sends one JSON object per line. Asynchronous events can arrive before the reply to a command, so every command
/// carries a numeric `id` and the client matches the reply by that id. Events read on the way are queued in arrival
/// order for `nextEvent(timeout:)` and `waitForEvent(named:timeout:)`.
///
/// The client is not thread-safe: use it from one thread at a time. QEMU accepts one client per QMP socket.
public final class QMPClient {
    private let connection: UnixSocketConnection
    private let socketPath: String
    private var receivedBytes: [UInt8] = []
    private var queuedEvents: [JSONValue] = []
    private var nextCommandID = 1
    private var isDisconnected = false

    /// Connects to QEMU's QMP socket, reads the greeting and negotiates capabilities with `qmp_capabilities`.
    ///
    /// Connecting is retried until `timeout` while the socket does not exist yet or refuses connections, which covers
    /// the time between launching QEMU and QEMU creating the socket. The same timeout bounds the greeting.
    ///
    /// - Throws: `HypervisorError` with `.invalidArgument` for a path over 107 bytes, `.timedOut` when QEMU does not
    ///   accept or greet in time, `.protocolError` when the greeting is not QMP, or `.disconnected`.
    public init(socketPath: String, timeout: Duration) throws {
        let deadline = Deadline(after: timeout)
        self.socketPath = socketPath
        connection = try UnixSocketConnection.connect(to: socketPath, timeout: timeout)

        guard let greeting = try readMessage(before: deadline) else {
            throw HypervisorError(
                .timedOut,
                "QEMU did not send the QMP greeting on \(socketPath) within \(timeout.secondsValue) s. "
                    + "Check that no other client holds the socket."
            )
        }
        guard greeting["QMP"] != nil else {
            throw HypervisorError(
                .protocolError,
                "The first message on \(socketPath) is not a QMP greeting: \(Self.render(greeting)). "
                    + "Check that the socket belongs to a QEMU monitor in control mode."
            )
        }
        _ = try execute("qmp_capabilities", timeout: timeout)
    }

    deinit {
        connection.close()
    }

    /// Sends a command and returns the `return` member of the reply that has the same `id`.
    ///
    /// - Parameters:
    ///   - command: The QMP command name, for example `query-status`.
    ///   - arguments: The command's `arguments` object. It is omitted from the request when empty.
    ///   - timeout: How long to wait for the reply.
    /// - Throws: `HypervisorError` with `.commandFailed` (carrying QEMU's error class and description) when QEMU
    ///   replies with an error, `.timedOut`, `.disconnected` when QEMU closes the socket first, or `.protocolError`.
    @discardableResult
    public func execute(
        _ command: String,
        arguments: [String: JSONValue] = [:],
        timeout: Duration = .seconds(30)
    ) throws -> JSONValue {
        try execute(command, arguments: arguments, passing: nil, timeout: timeout)
    }

    /// Passes `fd` to QEMU with the `getfd` command, which stores QEMU's copy of the descriptor under `name`.
    ///
    /// The descriptor travels as `SCM_RIGHTS` ancillary data on the same message as the command, as QEMU requires.
    /// The caller keeps its own descriptor and closes it when done. A later `getfd` with the same name replaces the
    /// stored descriptor.
    ///
    /// - Throws: The same errors as `execute(_:arguments:timeout:)`.
    public func passFileDescriptor(_ fd: Int32, name: String) throws {
        _ = try execute("getfd", arguments: ["fdname": .string(name)], passing: fd, timeout: .seconds(30))
    }

    /// Returns the oldest queued event, or reads the next one, waiting at most `timeout`. Returns `nil` on timeout.
    ///
    /// - Throws: `.disconnected` when QEMU closes the socket and no event is queued, or `.protocolError`.
    public func nextEvent(timeout: Duration) throws -> JSONValue? {
        if !queuedEvents.isEmpty {
            return queuedEvents.removeFirst()
        }
        let deadline = Deadline(after: timeout)
        while let message = try readMessage(before: deadline) {
            if message["event"] != nil {
                return message
            }
        }
        return nil
    }

    /// Waits for the event named `name` and returns it, including its `timestamp` member (`seconds` and
    /// `microseconds` since the Unix epoch, on QEMU's host clock). Returns `nil` when it does not arrive within `timeout`.
    ///
    /// The first matching event is taken from the queue or the socket. Other events stay queued in order.
    ///
    /// - Throws: `.disconnected` when QEMU closes the socket before the event arrives, or `.protocolError`.
    public func waitForEvent(named name: String, timeout: Duration) throws -> JSONValue? {
        if let index = queuedEvents.firstIndex(where: { $0["event"]?.string == name }) {
            return queuedEvents.remove(at: index)
        }
        let deadline = Deadline(after: timeout)
        while let message = try readMessage(before: deadline) {
            guard message["event"] != nil else { continue }
            if message["event"]?.string == name {
                return message
            }
            queuedEvents.append(message)
        }
        return nil
    }

    /// Reads and queues events until QEMU closes the socket, which means that QEMU exited or is exiting.
    ///
    /// - Returns: `true` when the socket closed, `false` when it is still open after `timeout`.
    public func waitForDisconnect(timeout: Duration) -> Bool {
        let deadline = Deadline(after: timeout)
        while !isDisconnected {
            do {
                guard let message = try readMessage(before: deadline) else { return false }
                if message["event"] != nil {
                    queuedEvents.append(message)
                }
            } catch let error as HypervisorError where error.code == .protocolError {
                // A malformed line does not mean that QEMU is still alive, so keep reading until end of file.
                continue
            } catch {
                return true
            }
        }
        return true
    }

    /// Closes the socket. QEMU keeps running and accepts a new client afterwards. Calling `close()` twice is harmless.
    public func close() {
        connection.close()
        isDisconnected = true
    }

    // MARK: - Sending and receiving

    private func execute(
        _ command: String,
        arguments: [String: JSONValue],
        passing descriptor: Int32?,
        timeout: Duration
    ) throws -> JSONValue {
        let deadline = Deadline(after: timeout)
        let id = nextCommandID
        nextCommandID += 1

        var request: [String: JSONValue] = ["execute": .string(command), "id": .int(id)]
        if !arguments.isEmpty {
            request["arguments"] = .object(arguments)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var line = try encoder.encode(JSONValue.object(request))
        line.append(UInt8(ascii: "\n"))
        try ensureConnected(for: command)
        do {
            try connection.send(Array(line), passing: descriptor)
        } catch let error as HypervisorError where error.code == .disconnected {
            isDisconnected = true
            throw HypervisorError(.disconnected, "QEMU closed the QMP socket \(socketPath) before \(command) was sent.")
        }

        while true {
            let message: JSONValue?
            do {
                message = try readMessage(before: deadline)
            } catch let error as HypervisorError where error.code == .disconnected {
                throw HypervisorError(
                    .disconnected,
                    "QEMU closed the QMP socket \(socketPath) before replying to \(command). "
                        + "QEMU has probably exited; check its vmm log."
                )
            }
            guard let message else {
                throw HypervisorError(
                    .timedOut,
                    "QMP command \(command) got no reply within \(timeout.secondsValue) s on \(socketPath). "
                        + "Check whether QEMU is stuck or overloaded."
                )
            }
            if message["event"] != nil {
                queuedEvents.append(message)
                continue
            }
            guard message["id"]?.int == id else {
                // A reply to an earlier command that timed out on this side. Its caller already gave up.
                continue
            }
            if let error = message["error"] {
                let errorClass = error["class"]?.string ?? "unknown"
                let description = error["desc"]?.string ?? Self.render(error)
                throw HypervisorError(
                    .commandFailed,
                    "QMP command \(command) failed with \(errorClass): \(description)",
                    qmpErrorClass: errorClass
                )
            }
            return message["return"] ?? .object([:])
        }
    }

    private func ensureConnected(for command: String) throws {
        if isDisconnected {
            throw HypervisorError(
                .disconnected,
                "QMP command \(command) cannot be sent because the socket \(socketPath) is closed. Connect again."
            )
        }
    }

    /// Returns the next complete JSON message, `nil` on timeout.
    ///
    /// - Throws: `.disconnected` at end of file, `.protocolError` for a line that is not a JSON object.
    private func readMessage(before deadline: Deadline) throws -> JSONValue? {
        while true {
            if let newline = receivedBytes.firstIndex(of: UInt8(ascii: "\n")) {
                let line = receivedBytes[..<newline]
                receivedBytes.removeSubrange(...newline)
                if line.allSatisfy({ $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: " ") }) {
                    continue
                }
                return try decodeLine(Data(line))
            }
            if isDisconnected {
                throw HypervisorError(.disconnected, "The QMP socket \(socketPath) is closed.")
            }
            guard let bytes = try connection.receive(before: deadline) else {
                return nil
            }
            if bytes.isEmpty {
                isDisconnected = true
                connection.close()
                throw HypervisorError(.disconnected, "QEMU closed the QMP socket \(socketPath).")
            }
            receivedBytes += bytes
        }
    }

    private func decodeLine(_ line: Data) throws -> JSONValue {
        let message: JSONValue
        do {
            message = try JSONDecoder().decode(JSONValue.self, from: line)
        } catch {
            throw HypervisorError(
                .protocolError,
                "QEMU sent a line on \(socketPath) that is not JSON: \(String(decoding: line, as: UTF8.self))"
            )
        }
        guard message.object != nil else {
            throw HypervisorError(
                .protocolError,
                "QEMU sent a JSON value on \(socketPath) that is not an object: \(Self.render(message))"
            )
        }
        return message
    }

    static func render(_ value: JSONValue) -> String {
        guard let data = try? JSONEncoder().encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
