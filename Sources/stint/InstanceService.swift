import Foundation
import Instances
import PhaseTracking

/// The target of the CLI's instance commands: the data directory directly, or a `stint serve` over HTTP. Both return
/// the same views, so every command prints the same output either way.
protocol InstanceService {
    func create(_ request: CreateRequest, waitFor: Phase?, timeout: Duration) throws -> InstanceView
    func list() throws -> [InstanceView]
    func inspect(_ reference: String) throws -> InstanceView
    func start(_ reference: String, waitFor: Phase?, timeout: Duration) throws -> InstanceView
    func stop(_ reference: String, timeout: Duration) throws -> InstanceView
    func perform(_ operation: SimpleOperation, on reference: String) throws -> InstanceView
    func fork(_ reference: String, name: String, target: ForkTarget?) throws -> InstanceView
    func delete(_ reference: String, force: Bool) throws
    /// Reads the serial log (lines prefixed with their host timestamp) or the hypervisor log, passing text to `output`
    /// as it arrives. With `follow` it continues until the instance stops or the command is interrupted.
    func logs(
        _ reference: String, tail: Int?, follow: Bool, hypervisor: Bool, output: (String) -> Void
    ) throws
    func usage(from: Int64, to: Int64, instance: String?, grouping: UsageReport.Grouping) throws -> [UsageReport.Row]
    /// Returns the transitions of an instance after `afterSequence`, waiting up to `wait` for a new one.
    func transitions(of reference: String, afterSequence: Int, wait: Duration) throws -> [JournalEntry]
}

/// The operations that take only an instance.
enum SimpleOperation: String {
    case pause, resume, standby, restore
}

/// The service on the local data directory.
struct LocalInstanceService: InstanceService {
    let manager: InstanceManager

    func create(_ request: CreateRequest, waitFor: Phase?, timeout: Duration) throws -> InstanceView {
        let created = try manager.create(request)
        return try start(created.id, waitFor: waitFor, timeout: timeout)
    }

    func list() throws -> [InstanceView] {
        manager.list().map(InstanceView.init)
    }

    func inspect(_ reference: String) throws -> InstanceView {
        InstanceView(try manager.status(reference))
    }

    func start(_ reference: String, waitFor: Phase?, timeout: Duration) throws -> InstanceView {
        let started = try manager.start(reference)
        guard let waitFor else { return InstanceView(started) }
        return InstanceView(try manager.wait(for: started.id, phase: waitFor, timeout: timeout))
    }

    func stop(_ reference: String, timeout: Duration) throws -> InstanceView {
        InstanceView(try manager.stop(reference, timeout: timeout))
    }

    func perform(_ operation: SimpleOperation, on reference: String) throws -> InstanceView {
        switch operation {
        case .pause: return InstanceView(try manager.pause(reference))
        case .resume: return InstanceView(try manager.resume(reference))
        case .standby: return InstanceView(try manager.standby(reference))
        case .restore: return InstanceView(try manager.restore(reference))
        }
    }

    func fork(_ reference: String, name: String, target: ForkTarget?) throws -> InstanceView {
        InstanceView(try manager.fork(reference, name: name, target: target))
    }

    func delete(_ reference: String, force: Bool) throws {
        try manager.delete(reference, force: force)
    }

    func usage(from: Int64, to: Int64, instance: String?, grouping: UsageReport.Grouping) throws -> [UsageReport.Row] {
        try manager.usage(fromNanoseconds: from, toNanoseconds: to, instance: instance, grouping: grouping)
    }

    func transitions(of reference: String, afterSequence: Int, wait: Duration) throws -> [JournalEntry] {
        try manager.transitions(of: reference, afterSequence: afterSequence, limit: 1_000, wait: wait).entries
    }

    func logs(_ reference: String, tail: Int?, follow: Bool, hypervisor: Bool, output: (String) -> Void) throws {
        let excerpt = try manager.readLog(reference, source: hypervisor ? .hypervisor : .serial, tail: tail)
        if !excerpt.text.isEmpty { output(String(decoding: excerpt.text, as: UTF8.self)) }
        guard follow else { return }
        manager.followLog(after: excerpt) { chunk in
            if !chunk.isEmpty { output(String(decoding: chunk, as: UTF8.self)) }
            return true
        }
    }
}
