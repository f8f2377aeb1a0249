import Foundation
import HTTPServer
import Instances
import PhaseTracking
import Synchronization

/// The body of `GET /instances`, kept between requests so that listing does not read and encode every instance
/// again.
///
/// The views of instances that are not live are encoded once. They are encoded again only when inotify reports a
/// change to their metadata slots or to the set of instance directories. A response writes only each current
/// phase's total as of its own time. Live instances (and any with an operation in progress or an error) are derived and
/// encoded on every request, because their state depends on processes, not only on files. Without inotify (the
/// kernel refuses an instance or a watch), every request rescans the data directory.
final class InstanceListCache: Sendable {
    /// One listed instance: its sort key and, when it can be kept, its encoded view.
    private final class Entry: Sendable {
        let id: String
        let sortKey: String
        let encoded: EncodedInstanceView?

        init(id: String, sortKey: String, encoded: EncodedInstanceView?) {
            self.id = id
            self.sortKey = sortKey
            self.encoded = encoded
        }
    }

    private struct State: ~Copyable {
        var watcher: DirectoryWatcher?
        var instancesWatch: Int32?
        var idsByWatch: [Int32: String] = [:]
        var entries: [String: Entry] = [:]
        var ordered: [Entry] = []
        var stale: Set<String> = []
        var needsRescan = true
        var orderIsStale = true
    }

    private let manager: InstanceManager
    private let encode: @Sendable (InstanceView) throws -> Data
    private let state: Mutex<State>

    /// `encode` turns one view into the JSON the API sends for it. With `watchesDirectories` false, every request
    /// rescans, as when the kernel refuses inotify.
    init(
        manager: InstanceManager, watchesDirectories: Bool = true,
        encode: @escaping @Sendable (InstanceView) throws -> Data
    ) {
        self.manager = manager
        self.encode = encode
        state = Mutex(State(watcher: watchesDirectories ? DirectoryWatcher() : nil))
    }

    /// Returns the JSON array of the views of all instances sorted by name, or of those in `state` only.
    func body(state filter: InstanceState?) -> ResponseBytes {
        let entries = state.withLock { state in
            refresh(&state)
            return state.ordered
        }
        let now = manager.now()
        // Views that cannot be kept are derived and encoded first, so the size of the whole body is known.
        var selected: [(entry: Entry, live: [UInt8]?)] = []
        selected.reserveCapacity(entries.count)
        var capacity = 2
        for entry in entries {
            if let encoded = entry.encoded {
                guard filter == nil || encoded.state == filter else { continue }
                selected.append((entry, nil))
                capacity += encoded.maximumSize + 1
            } else {
                let status = manager.status(ofID: entry.id)
                guard filter == nil || status.state == filter, let view = try? encode(InstanceView(status)) else {
                    continue
                }
                selected.append((entry, Array(view)))
                capacity += view.count + 1
            }
        }
        return ResponseBytes(capacity: capacity) { buffer in
            buffer[0] = UInt8(ascii: "[")
            var position = 1
            for (index, item) in selected.enumerated() {
                if index > 0 {
                    buffer[position] = UInt8(ascii: ",")
                    position += 1
                }
                if let live = item.live {
                    position = EncodedInstanceView.copy(live, into: buffer, at: position)
                } else if let encoded = item.entry.encoded {
                    position = encoded.write(into: buffer, at: position, now: now)
                }
            }
            buffer[position] = UInt8(ascii: "]")
            return position + 1
        }
    }

    /// Applies the changes inotify reported since the last request, then encodes the instances that changed.
    private func refresh(_ state: inout State) {
        if let watcher = state.watcher, !state.needsRescan {
            for event in watcher.drain() {
                apply(event, to: &state)
                if state.needsRescan { break }
            }
        }
        if state.needsRescan {
            rescan(&state)
        }
        let stale = Array(state.stale)
        state.stale.removeAll()
        let present = stale.filter { watchDirectory(of: $0, in: &state) }
        let encode = encode
        let reloaded = present.concurrentMap { [manager] id in
            let status = manager.status(ofID: id)
            return Entry(
                id: id, sortKey: status.metadata?.name ?? id, encoded: EncodedInstanceView(status, encode: encode))
        }
        for entry in reloaded {
            state.entries[entry.id] = entry
        }
        // The ordered copy contains the previous views, so it is rebuilt even when no sort key changed.
        state.orderIsStale = state.orderIsStale || !reloaded.isEmpty
        if state.orderIsStale {
            state.ordered = state.entries.values.sorted { ($0.sortKey, $0.id) < ($1.sortKey, $1.id) }
            state.orderIsStale = false
        }
    }

    private func apply(_ event: DirectoryWatcher.Event, to state: inout State) {
        if event.isOverflow {
            state.needsRescan = true
        } else if event.watch == state.instancesWatch {
            if event.endsWatch || event.name.isEmpty {
                state.needsRescan = true
            } else if InstanceIdentity.isValidID(event.name) {
                if event.isDeparture, state.entries.removeValue(forKey: event.name) != nil {
                    state.orderIsStale = true
                }
                state.stale.insert(event.name)
            }
        } else if let id = state.idsByWatch[event.watch] {
            if event.endsWatch {
                state.idsByWatch[event.watch] = nil
                state.stale.insert(id)
            } else if MetadataSlots.fileNames.contains(event.name) || event.name.isEmpty {
                state.stale.insert(id)
            }
        }
    }

    /// Starts over: watches the instances directory again and marks every instance directory for reloading.
    private func rescan(_ state: inout State) {
        state.needsRescan = false
        state.idsByWatch.removeAll()
        state.instancesWatch = nil
        if let watcher = state.watcher {
            _ = watcher.drain()
            state.instancesWatch = watcher.watch(manager.store.instancesDirectory)
        }
        if state.instancesWatch == nil {
            // Without a watch on the directory nothing reports changes, so the next request rescans as well.
            state.needsRescan = true
        }
        let ids = Set(manager.store.instanceIDs())
        state.entries = state.entries.filter { ids.contains($0.key) }
        state.stale = ids
        state.orderIsStale = true
    }

    /// Watches one instance directory for changes; removes the instance and returns false when its directory is
    /// gone.
    private func watchDirectory(of id: String, in state: inout State) -> Bool {
        let directory = manager.store.paths(forID: id).directory
        if let watcher = state.watcher, state.instancesWatch != nil {
            if let watch = watcher.watch(directory) {
                state.idsByWatch[watch] = id
                return true
            }
            if errno != ENOENT && errno != ENOTDIR {
                // Out of watches: this instance would go stale unnoticed, so every request rescans instead.
                state.needsRescan = true
            }
        }
        guard access(directory, F_OK) == 0 else {
            if state.entries.removeValue(forKey: id) != nil {
                state.orderIsStale = true
            }
            return false
        }
        return true
    }
}
