import Testing

@testable import Hypervisor

extension QEMUGuestTests {
    @Suite struct AccelerationProbeTests {
        /// KVM cannot run guests on the machines these tests were written on, even though /dev/kvm exists.
        @Test func probeChoosesTCGWhereKVMHangs() throws {
            let kernel = try testKernelPath()
            let choice = AccelerationProbe.probe(
                qemuExecutable: QEMUCommandLine.defaultExecutable, kernelPath: kernel, timeout: .seconds(2))
            #expect(choice == .tcg)
        }

        /// The same check under TCG receives output, so `.tcg` above comes from KVM hanging, not from a broken probe.
        @Test func serialOutputArrivesUnderTCG() throws {
            let kernel = try testKernelPath()
            let printed = AccelerationProbe.printsSerialOutput(
                qemuExecutable: QEMUCommandLine.defaultExecutable, kernelPath: kernel, acceleration: .tcg,
                timeout: .seconds(10))
            #expect(printed)
        }

        @Test func missingExecutableMeansTCG() throws {
            let kernel = try testKernelPath()
            let choice = AccelerationProbe.probe(
                qemuExecutable: "stint-no-such-qemu", kernelPath: kernel, timeout: .seconds(1))
            #expect(choice == .tcg)
        }
    }
}
