import Foundation
import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// `stint logs`: the guest's serial console (each line stamped with the host time it was read) or the hypervisor log.
enum LogsCommand {
    static func run(_ arguments: ParsedArguments, _ manager: InstanceManager) throws {
        let status = try manager.status(try arguments.onePositional("instance name or id"))
        let paths = manager.store.paths(forID: status.id)
        let hypervisor = arguments.flags.contains("hypervisor")
        let path = hypervisor ? paths.hypervisorLog : paths.serialLog
        let stripTimestamps = !hypervisor && !arguments.flags.contains("timestamps")
        let tail = try arguments.integer("tail", default: -1, range: -1...1_000_000, unit: "lines")

        let data = FileManager.default.contents(atPath: path) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        if tail >= 0 { lines = Array(lines.suffix(tail)) }
        for line in lines {
            Commands.write(format(line, stripTimestamps: stripTimestamps))
        }
        guard arguments.flags.contains("follow") else { return }
        try follow(path: path, from: data.count, stripTimestamps: stripTimestamps)
    }

    private static func format(_ line: Substring, stripTimestamps: Bool) -> String {
        guard stripTimestamps, let space = line.firstIndex(of: " ") else { return line + "\n" }
        return line[line.index(after: space)...] + "\n"
    }

    /// Prints lines appended after `offset` until interrupted.
    private static func follow(path: String, from offset: Int, stripTimestamps: Bool) throws {
        var position = offset
        var partial = ""
        while true {
            if let handle = FileHandle(forReadingAtPath: path) {
                let size = Int(handle.seekToEndOfFile())
                if size < position { position = 0 }  // rotated
                handle.seek(toFileOffset: UInt64(position))
                let data = handle.readDataToEndOfFile()
                handle.closeFile()
                position += data.count
                partial += String(decoding: data, as: UTF8.self)
                while let newline = partial.firstIndex(of: "\n") {
                    Commands.write(format(partial[..<newline], stripTimestamps: stripTimestamps))
                    partial.removeSubrange(...newline)
                }
            }
            usleep(200_000)
        }
    }
}
