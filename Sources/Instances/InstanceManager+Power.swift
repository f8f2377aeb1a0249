import Foundation
import GuestImage
import Hypervisor
import PhaseTracking
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension InstanceManager {
    /// Boots a created or stopped instance: `initializing` until the guest prints both boot markers.
    public func start(_ reference: String) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .created, .stopped:
                break
            case .initializing, .running, .paused, .shutdown:
                throw InstancesError.conflict(
                    "instance '\(metadata.name)' is already \(metadata.state.rawValue); stop it before starting it again"
                )
            case .standby:
                throw InstancesError.conflict(
                    "instance '\(metadata.name)' is in standby; use 'restore' to continue it or 'stop' to discard its snapshot"
                )
            }
            let machine = try machineConfig(for: metadata)
            try launch(&metadata, paths: paths, machine: machine, incomingImage: nil)
            FaultPoint.reach("start.after-launch")
            metadata.bootMarkers = BootMarkers()
            let startedAt = now()
            metadata.startedAt = startedAt
            metadata.stoppedAt = nil
            metadata.transition(to: .initializing, at: startedAt)
            try save(&metadata)
            FaultPoint.reach("start.after-save")
            return metadata.id
        }
        return status(ofID: id)
    }

    /// Stops an instance: ACPI power-down (phase `shutdown`), then `quit` when the guest has not powered off within
    /// `timeout`. A paused guest cannot act on the power button, so it is ended at once. Stopping a stopped or created
    /// instance changes nothing; stopping an instance in standby discards its snapshot.
    public func stop(_ reference: String, timeout: Duration) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .created, .stopped:
                return metadata.id
            case .standby:
                try? FileManager.default.removeItem(atPath: paths.snapshotDirectory)
                metadata.snapshot = nil
                let moment = now()
                metadata.transition(to: .stopped, at: moment)
                metadata.stoppedAt = moment
                try save(&metadata)
                return metadata.id
            case .initializing, .running, .paused, .shutdown:
                break
            }

            let previous = metadata.state
            metadata.pendingOperation = PendingOperation(
                kind: .stop, previousPhase: previous, generation: metadata.generation)
            if previous != .paused {
                metadata.transition(to: .shutdown, at: now())
            }
            try save(&metadata)
            FaultPoint.reach("stop.after-shutdown-recorded")

            let (moment, how) = endHypervisor(metadata, paths: paths, graceful: previous != .paused, timeout: timeout)
            FaultPoint.reach("stop.after-hypervisor-ended")
            InstanceManager.recordHypervisorExit(
                &metadata, paths: paths, at: moment, status: how, source: .operation, estimated: false)
            try save(&metadata)
            FaultPoint.reach("stop.after-save")
            return metadata.id
        }
        return status(ofID: id)
    }

    /// Ends the hypervisor: ACPI power-down and a wait of `timeout` when `graceful`, then `quit`, then SIGKILL.
    /// Returns the moment the process was seen gone and how it ended.
    func endHypervisor(
        _ metadata: InstanceMetadata, paths: InstancePaths, graceful: Bool, timeout: Duration
    ) -> (HostInstant, String) {
        guard let processes = metadata.processes,
            ProcessInspector.isAlive(processes.hypervisorPID, startTime: processes.hypervisorStartTime)
        else { return (now(), "already exited") }

        var how = "killed"
        if let machine = try? QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(5)) {
            defer { machine.client.close() }
            if graceful, (try? machine.requestPowerDown()) != nil, machine.waitForExit(timeout: timeout) {
                how = "powered off by ACPI request"
            } else if (try? machine.quit()) != nil, machine.waitForExit(timeout: .seconds(10)) {
                how = graceful ? "quit after power-down timeout of \(timeout)" : "quit"
            }
        }
        // QEMU closes QMP a moment before its process ends, so a clean exit gets time to finish before SIGKILL.
        let moment = terminateHypervisor(metadata, grace: how == "killed" ? .zero : .seconds(5))
        return (moment, how)
    }

    /// Launches the monitor and QEMU for a new generation and records the processes in `metadata` (not saved).
    func launch(
        _ metadata: inout InstanceMetadata, paths: InstancePaths, machine: MachineConfig, incomingImage: String?
    ) throws {
        let generation = metadata.generation + 1
        let processes = try MonitorLauncher(configuration: configuration).launch(
            id: metadata.id, paths: paths, generation: generation, machine: machine, incomingImage: incomingImage)
        metadata.generation = generation
        metadata.processes = processes
    }

    /// Builds the machine to boot `metadata` with: the prepared guest image and the cached accelerator choice.
    func machineConfig(for metadata: InstanceMetadata) throws -> MachineConfig {
        let image: GuestImage
        do {
            image = try GuestImageStore(directory: configuration.imageDirectory).prepare()
        } catch {
            throw InstancesError.failed("preparing the guest image in '\(configuration.imageDirectory)'", error)
        }
        let commandLine = try GuestCommandLine.kernelCommandLine(command: metadata.command)
        return MachineConfig(
            memoryMiB: metadata.memoryMiB, vcpus: metadata.vcpus, kernelPath: image.kernelPath,
            initramfsPath: image.initramfsPath, kernelCommandLine: commandLine,
            acceleration: acceleration(kernelPath: image.kernelPath), sandbox: sandboxAvailable())
    }

    /// Returns whether QEMU accepts its seccomp sandbox, probed once and cached in the image directory.
    func sandboxAvailable() -> Bool {
        let cache = configuration.imageDirectory + "/sandbox"
        if let text = try? String(contentsOfFile: cache, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines) == "on"
        }
        let available = SandboxProbe.probe(qemuExecutable: configuration.qemuExecutable, timeout: .milliseconds(500))
        try? DurableFile.write(Data((available ? "on\n" : "off\n").utf8), to: cache)
        return available
    }

    /// Returns the configured accelerator, or else the probed one, cached in the image directory.
    func acceleration(kernelPath: String) -> Acceleration {
        if let configured = configuration.acceleration {
            return configured
        }
        let cache = configuration.imageDirectory + "/acceleration"
        if let text = try? String(contentsOfFile: cache, encoding: .utf8),
            let cached = Acceleration(rawValue: text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return cached
        }
        let probed = AccelerationProbe.probe(
            qemuExecutable: configuration.qemuExecutable, kernelPath: kernelPath, timeout: .seconds(3))
        try? DurableFile.write(Data((probed.rawValue + "\n").utf8), to: cache)
        return probed
    }
}
