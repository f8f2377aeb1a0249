import Foundation
import Testing

@testable import Hypervisor

@Suite struct QEMUCommandLineTests {
    private let config = MachineConfig(
        memoryMiB: 256,
        vcpus: 2,
        kernelPath: "/data/system/vmlinuz",
        initramfsPath: "/data/system/initramfs.cpio",
        kernelCommandLine: "console=ttyS0 quiet",
        acceleration: .tcg
    )

    /// Returns the value that follows `option` in `arguments`.
    private func value(of option: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: option), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    @Test func launchArgumentsFollowConfig() {
        let arguments = QEMUCommandLine.arguments(
            for: config, qmpSocketPath: "/run/vm/qmp", incomingFileDescriptor: nil)

        #expect(arguments.starts(with: ["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"]))
        #expect(value(of: "-machine", in: arguments) == "pc")
        #expect(value(of: "-accel", in: arguments) == "tcg")
        #expect(value(of: "-m", in: arguments) == "256M")
        #expect(value(of: "-smp", in: arguments) == "2")
        #expect(value(of: "-kernel", in: arguments) == "/data/system/vmlinuz")
        #expect(value(of: "-initrd", in: arguments) == "/data/system/initramfs.cpio")
        #expect(value(of: "-append", in: arguments) == "console=ttyS0 quiet")
        #expect(arguments.contains("stdio,id=serial0,signal=off"))
        #expect(value(of: "-serial", in: arguments) == "chardev:serial0")
        #expect(arguments.contains("socket,id=qmp0,path=/run/vm/qmp,server=on,wait=off"))
        #expect(value(of: "-mon", in: arguments) == "chardev=qmp0,mode=control")
        #expect(value(of: "-global", in: arguments) == "migration.x-events=on")
        #expect(!arguments.contains("-S"))
        #expect(!arguments.contains("-incoming"))
        #expect(!arguments.contains("-cpu"))
    }

    @Test func incomingDescriptorStartsPaused() {
        let arguments = QEMUCommandLine.arguments(for: config, qmpSocketPath: "/run/vm/qmp", incomingFileDescriptor: 3)

        #expect(arguments.contains("-S"))
        #expect(value(of: "-incoming", in: arguments) == "fd:3")
    }

    @Test func emptyInitramfsIsOmitted() {
        var withoutInitramfs = config
        withoutInitramfs.initramfsPath = ""
        let arguments = QEMUCommandLine.arguments(
            for: withoutInitramfs, qmpSocketPath: "/q", incomingFileDescriptor: nil)

        #expect(!arguments.contains("-initrd"))
    }

    @Test func kvmUsesHostCPU() {
        var kvm = config
        kvm.acceleration = .kvm
        let arguments = QEMUCommandLine.arguments(for: kvm, qmpSocketPath: "/q", incomingFileDescriptor: nil)

        #expect(value(of: "-accel", in: arguments) == "kvm")
        #expect(value(of: "-cpu", in: arguments) == "host")
    }

    @Test func commaInSocketPathIsEscaped() {
        let arguments = QEMUCommandLine.arguments(
            for: config, qmpSocketPath: "/tmp/a,b/qmp", incomingFileDescriptor: nil)

        #expect(arguments.contains("socket,id=qmp0,path=/tmp/a,,b/qmp,server=on,wait=off"))
    }

    @Test func configRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(MachineConfig.self, from: data) == config)
    }
}
