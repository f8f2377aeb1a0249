/// The files that boot a Stint guest: a kernel and an initramfs that contains the guest init.
public struct GuestImage: Sendable, Equatable {
    /// Absolute path of the bzImage kernel to pass to QEMU's `-kernel`.
    public let kernelPath: String
    /// Absolute path of the uncompressed newc cpio archive to pass to QEMU's `-initrd`.
    public let initramfsPath: String

    /// Creates an image from the paths of its two files.
    public init(kernelPath: String, initramfsPath: String) {
        self.kernelPath = kernelPath
        self.initramfsPath = initramfsPath
    }
}
