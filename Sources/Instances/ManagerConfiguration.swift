import Hypervisor

/// Settings of an `InstanceManager`, filled by the CLI from flags and the environment.
public struct ManagerConfiguration: Sendable {
    public var dataDirectory: String
    /// The cache directory of the guest kernel and initramfs, `<data>/system` unless set.
    public var imageDirectory: String
    /// The QEMU executable, looked up in PATH when it has no slash.
    public var qemuExecutable: String
    /// The full `stint` executable, which each monitor runs as `stint monitor-record` to change the metadata.
    public var stintExecutable: String
    /// The `stint-monitor` executable, the per-instance parent of QEMU. Unless set, it is `stint-monitor` in the
    /// directory of `stintExecutable`.
    public var monitorExecutable: String
    /// The accelerator to use, or nil to probe once and cache the result in the image directory.
    public var acceleration: Acceleration?
    /// How long an operation waits for another operation on the same instance to finish.
    public var lockTimeout: Duration

    public init(
        dataDirectory: String, imageDirectory: String? = nil, qemuExecutable: String = "qemu-system-x86_64",
        stintExecutable: String, monitorExecutable: String? = nil, acceleration: Acceleration? = nil,
        lockTimeout: Duration = .seconds(120)
    ) {
        self.dataDirectory = dataDirectory
        self.imageDirectory = imageDirectory ?? dataDirectory + "/system"
        self.qemuExecutable = qemuExecutable
        self.stintExecutable = stintExecutable
        self.monitorExecutable = monitorExecutable ?? ManagerConfiguration.sibling("stint-monitor", of: stintExecutable)
        self.acceleration = acceleration
        self.lockTimeout = lockTimeout
    }

    /// Returns the path of the file `name` in the directory of `path`.
    static func sibling(_ name: String, of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return name }
        return String(path[...slash]) + name
    }
}
