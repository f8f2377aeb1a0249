import GuestImage
import MonitorCore

extension MonitorRecordRequest {
    /// Applies this observation of a monitor to the instance's metadata, under the instance lock and only while the
    /// instance still runs the monitor's launch (same generation and hypervisor pid). Returns whether the metadata
    /// was saved; the launch check never saves, and may kill the hypervisor instead.
    ///
    /// An exit that was saved reaches the fault point `monitor.after-exit-recorded` in this process, which is the
    /// monitor's own process because the monitor replaces itself with `stint monitor-record exit`.
    ///
    /// - Throws: `InstancesError` for an invalid instance id or boot marker name, or a data directory that cannot be
    ///   opened. A missing instance or a failed write is logged, not thrown.
    public func apply(log: Logger) throws -> Bool {
        guard InstanceIdentity.isValidID(instanceID) else {
            throw InstancesError.invalid("invalid instance id '\(instanceID)' for \(MonitorRecordRequest.subcommand)")
        }
        let store = try InstanceStore(dataDirectory: dataDirectory)
        let recorder = TransitionRecorder(
            store: store, id: instanceID, generation: generation, hypervisorPID: hypervisorPID,
            log: log.with(["instance.id": instanceID, "generation": String(generation)]))
        switch event {
        case .launch:
            recorder.verifyOwnership()
            return false
        case .bootMarker(let name, let instant):
            guard let marker = BootMarker(rawValue: name) else {
                let known = BootMarker.allCases.map(\.rawValue).joined(separator: ", ")
                throw InstancesError.invalid("unknown boot marker '\(name)'; expected one of \(known)")
            }
            return recorder.recordMarker(marker, at: instant)
        case .exit(let waitStatus, let instant):
            return recorder.recordExit(at: instant, status: WaitStatus.describe(waitStatus))
        }
    }
}
