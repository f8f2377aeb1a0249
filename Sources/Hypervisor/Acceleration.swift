/// The way QEMU executes guest code.
public enum Acceleration: String, Codable, Sendable {
    /// Hardware virtualization through `/dev/kvm`.
    case kvm
    /// QEMU's software emulator (Tiny Code Generator), which works everywhere but runs guests several times slower.
    case tcg
}
