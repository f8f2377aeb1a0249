import Dispatch
import Foundation
import HTTPServer
import Instances
import StintAPI

#if canImport(Glibc)
    import Glibc
#endif

/// `stint serve`: the instance API over HTTP. On SIGTERM or SIGINT it stops accepting connections, lets requests in
/// flight finish, and exits 0. Guests keep running; a restarted server picks them up from their metadata.
enum ServeCommand {
    static let defaultListen = "127.0.0.1:8780"

    static func run(_ arguments: ParsedArguments, _ global: GlobalOptions) throws {
        guard arguments.positionals.isEmpty else {
            throw CLIError.usage("serve takes no arguments, got '\(arguments.positionals[0])'")
        }
        let (host, port) = try parseListen(arguments.options["listen"] ?? defaultListen)
        let log = Logger(label: "stint.serve")

        // Signal handling comes first, so a signal during start-up is not lost: ignore the default action,
        // then watch the signals with Dispatch sources.
        let stopRequested = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            sources.append(source)
        }

        let manager = try global.makeManager()
        let token: String
        do {
            token = try APIToken.loadOrCreate(dataDirectory: global.dataDirectory, explicit: global.token)
        } catch let error as APIError {
            // The token comes from the command line or the environment here, not from an HTTP request.
            throw CLIError.usage(error.message)
        }
        let api = InstanceAPI(manager: manager, token: token, log: log)

        // InstanceAPI logs each request with its instance, so the HTTP layer's own request log stays off.
        var configuration = HTTPServer.Configuration()
        configuration.answersInline = InstanceAPI.answersInline
        let server = HTTPServer(host: host, port: port, configuration: configuration, handler: api.handle)
        do {
            try server.start()
        } catch {
            throw CLIError.failure("cannot listen on \(host):\(port): \(error)")
        }
        log.info(
            "server started",
            [
                "listen": "\(host):\(server.boundPort)", "data_dir": global.dataDirectory,
                "token_file": global.dataDirectory + "/api-token",
            ])
        // The bound port on standard output lets scripts and tests that listen on port 0 find the server.
        Commands.write("listening on http://\(host):\(server.boundPort)\n")

        stopRequested.wait()
        log.info("shutdown requested; finishing requests in flight", [:])
        server.shutdown(gracePeriod: .seconds(60))
        log.info("server stopped", [:])
        withExtendedLifetime(sources) {}
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`.
    static func parseListen(_ text: String) throws -> (String, UInt16) {
        let invalid = CLIError.usage(
            "invalid --listen '\(text)': use ADDRESS:PORT such as 127.0.0.1:8780 or [::1]:8780")
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw invalid
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw invalid }
        return (host, port)
    }
}
