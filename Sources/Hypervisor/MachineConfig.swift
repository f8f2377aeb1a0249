/// Everything needed to launch the same machine again.
///
/// A snapshot stores this value next to its memory image, and a restore launches QEMU with the identical
/// configuration, because QEMU rejects a migration stream whose devices or memory size differ from the target's.
public struct MachineConfig: Codable, Sendable, Equatable {
    /// Guest memory in MiB (1024 × 1024 bytes).
    public var memoryMiB: Int
    /// Number of virtual CPUs.
    public var vcpus: Int
    /// Absolute path of the guest kernel (a bzImage).
    public var kernelPath: String
    /// Absolute path of the initramfs, or an empty string to boot without one.
    public var initramfsPath: String
    /// Kernel command line, passed to QEMU's `-append` unchanged.
    public var kernelCommandLine: String
    /// The accelerator QEMU uses for this machine.
    public var acceleration: Acceleration
    /// Whether QEMU runs under its seccomp sandbox (`-sandbox on` with obsolete calls, privilege changes, spawning
    /// and resource control denied). Configurations saved before this field existed decode as false.
    public var sandbox: Bool

    public init(
        memoryMiB: Int,
        vcpus: Int,
        kernelPath: String,
        initramfsPath: String,
        kernelCommandLine: String,
        acceleration: Acceleration,
        sandbox: Bool = false
    ) {
        self.sandbox = sandbox
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.kernelPath = kernelPath
        self.initramfsPath = initramfsPath
        self.kernelCommandLine = kernelCommandLine
        self.acceleration = acceleration
    }

    private enum CodingKeys: String, CodingKey {
        case memoryMiB, vcpus, kernelPath, initramfsPath, kernelCommandLine, acceleration, sandbox
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        memoryMiB = try container.decode(Int.self, forKey: .memoryMiB)
        vcpus = try container.decode(Int.self, forKey: .vcpus)
        kernelPath = try container.decode(String.self, forKey: .kernelPath)
        initramfsPath = try container.decode(String.self, forKey: .initramfsPath)
        kernelCommandLine = try container.decode(String.self, forKey: .kernelCommandLine)
        acceleration = try container.decode(Acceleration.self, forKey: .acceleration)
        sandbox = try container.decodeIfPresent(Bool.self, forKey: .sandbox) ?? false
    }
}
