import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the guest's serial console until QEMU closes it, stamps each line with the host time at which it was read,
/// appends it to the serial log, and passes boot markers on as they are read.
struct SerialReader: Sendable {
    let descriptor: Int32
    let logPath: String
    let logLimitBytes: Int
    let bootMarkers: [BootMarkerLine]
    let clock: any HostClock
    let log: MonitorLog
    /// Called on the reading thread for each boot marker line, with the instant its bytes were read.
    let onBootMarker: @Sendable (BootMarkerLine, HostInstant) -> Void

    /// Reads until end of file, then closes the console descriptor and the log.
    func run() {
        var writer = SerialLogWriter(path: logPath, limitBytes: logLimitBytes, log: log)
        var splitter = SerialLineSplitter()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        defer {
            close(descriptor)
            writer.close()
        }

        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            let instant = clock.now()
            for line in splitter.append(buffer[0..<count]) {
                if let marker = BootMarkerLine.match(line, in: bootMarkers) {
                    onBootMarker(marker, instant)
                }
                writer.append(line, at: instant)
            }
        }
        if let remainder = splitter.takeRemainder() {
            writer.appendFinal(remainder, at: clock.now())
        }
    }
}
