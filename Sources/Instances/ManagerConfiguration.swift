import Hypervisor

/// Settings of an `InstanceManager`, filled by the CLI from flags and the environment.
public struct ManagerConfiguration: Sendable {
    public var dataDirectory: String
    /// The cache directory of the guest kernel and initramfs, `<data>/system` unless set.
    public var imageDirectory: String
    /// The QEMU executable, looked up in PATH when it has no slash.
    public var qemuExecutable: String
    /// The `stint` executable that runs the monitor subcommand.
    public var monitorExecutable: String
    /// The accelerator to use, or nil to probe once and cache the result in the image directory.
    public var acceleration: Acceleration?
    /// How long an operation waits for another operation on the same instance to finish.
    public var lockTimeout: Duration

    public init(
        dataDirectory: String, imageDirectory: String? = nil, qemuExecutable: String = "qemu-system-x86_64",
        monitorExecutable: String, acceleration: Acceleration? = nil, lockTimeout: Duration = .seconds(120)
    ) {
        self.dataDirectory = dataDirectory
        self.imageDirectory = imageDirectory ?? dataDirectory + "/system"
        self.qemuExecutable = qemuExecutable
        self.monitorExecutable = monitorExecutable
        self.acceleration = acceleration
        self.lockTimeout = lockTimeout
    }
}
