/// The files of one instance under `<data>/instances/<id>/`.
public struct InstancePaths: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var metadataSlots: MetadataSlots { MetadataSlots(directory: directory) }
    public var lock: String { directory + "/lock" }
    public var logs: String { directory + "/logs" }
    public var serialLog: String { logs + "/serial.log" }
    public var hypervisorLog: String { logs + "/vmm.log" }
    public var monitorLog: String { logs + "/monitor.log" }
    /// A file whose modification time the monitor refreshes every second while it runs.
    public var monitorHeartbeat: String { directory + "/monitor.heartbeat" }
    public var snapshotDirectory: String { directory + "/snapshot" }
    public var memoryImage: String { snapshotDirectory + "/memory.img" }

    /// The name prefix of snapshot directories that a restore has used and renamed aside for removal.
    public static let consumedSnapshotPrefix = "snapshot.consumed-"

    /// Returns the path to which the restore that launched `generation` moves the snapshot directory it has used.
    public func consumedSnapshotDirectory(generation: Int) -> String {
        directory + "/" + Self.consumedSnapshotPrefix + String(generation)
    }
    /// The QMP socket. Unix socket paths are limited to 107 bytes, so the data directory path must stay short.
    public var qmpSocket: String { directory + "/qmp.sock" }
}
