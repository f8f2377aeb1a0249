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

    public init(
        memoryMiB: Int,
        vcpus: Int,
        kernelPath: String,
        initramfsPath: String,
        kernelCommandLine: String,
        acceleration: Acceleration
    ) {
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.kernelPath = kernelPath
        self.initramfsPath = initramfsPath
        self.kernelCommandLine = kernelCommandLine
        self.acceleration = acceleration
    }
}
