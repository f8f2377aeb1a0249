import Foundation

/// Builds QEMU's argument vector for a `MachineConfig`.
public enum QEMUCommandLine {
    /// The executable name looked up in `PATH` when the caller has no override (Stint reads `STINT_QEMU`).
    public static let defaultExecutable = "qemu-system-x86_64"

    /// The QEMU chardev id of the serial console, which QEMU connects to its own stdout.
    public static let serialChardevID = "serial0"

    /// The QEMU chardev id of the QMP socket.
    public static let qmpChardevID = "qmp0"

    /// Returns the arguments (without argv[0]) that launch `config`.
    ///
    /// The guest's serial console is QEMU's stdout (`-chardev stdio` with `signal=off`, so Ctrl-C on a terminal reaches
    /// the guest rather than killing QEMU). QMP listens on a Unix socket at `qmpSocketPath` and QEMU does not wait for a
    /// client to connect. `-no-reboot` turns a guest reboot or kernel panic with `panic=-1` into a QEMU exit.
    /// The machine type is `pc` (i440FX): it boots a bzImage directly, has the ACPI power button that
    /// `system_powerdown` presses, and migrates between two launches of the same QEMU build.
    ///
    /// - Parameters:
    ///   - config: Memory (MiB), CPUs, kernel, initramfs (omitted when empty), command line and accelerator.
    ///   - qmpSocketPath: Path where QEMU creates the QMP socket. Commas are escaped for QEMU's option syntax.
    ///   - incomingFileDescriptor: When non-nil, QEMU starts paused (`-S`) and loads a migration stream from this
    ///     descriptor number in its own process (`-incoming fd:N`), so the caller must map the image file there.
    public static func arguments(
        for config: MachineConfig,
        qmpSocketPath: String,
        incomingFileDescriptor: Int32?
    ) -> [String] {
        var arguments = [
            "-nodefaults",
            "-no-user-config",
            "-display", "none",
            "-no-reboot",
            "-machine", "pc",
            "-accel", config.acceleration.rawValue,
        ]
        if config.acceleration == .kvm {
            // The host CPU model exposes the host's features, which only KVM can provide.
            arguments += ["-cpu", "host"]
        }
        arguments += [
            "-m", "\(config.memoryMiB)M",
            "-smp", "\(config.vcpus)",
            "-kernel", config.kernelPath,
        ]
        if !config.initramfsPath.isEmpty {
            arguments += ["-initrd", config.initramfsPath]
        }
        arguments += [
            "-append", config.kernelCommandLine,
            "-chardev", "stdio,id=\(serialChardevID),signal=off",
            "-serial", "chardev:\(serialChardevID)",
            "-chardev", "socket,id=\(qmpChardevID),path=\(escapeOptionValue(qmpSocketPath)),server=on,wait=off",
            "-mon", "chardev=\(qmpChardevID),mode=control",
            // The events capability makes QEMU send MIGRATION events on status changes. An incoming load starts
            // before any QMP client could set the capability, so it is set here.
            "-global", "migration.x-events=on",
        ]
        if let incomingFileDescriptor {
            arguments += ["-S", "-incoming", "fd:\(incomingFileDescriptor)"]
        }
        if config.sandbox {
            arguments += ["-sandbox", sandboxOptions]
        }
        return arguments
    }

    /// The seccomp policy: deny obsolete system calls, privilege changes, spawning processes and resource control.
    public static let sandboxOptions = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

    /// Escapes a value for QEMU's `key=value,...` option syntax, where a literal comma is written as two commas.
    static func escapeOptionValue(_ value: String) -> String {
        value.replacingOccurrences(of: ",", with: ",,")
    }
}
