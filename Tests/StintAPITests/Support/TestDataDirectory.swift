import Foundation
import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under `/tmp` whose `data` subdirectory is a Stint data directory.
///
/// The parent directory lets a test check that nothing was written next to the data directory. `cleanUp()` (also
/// run by `deinit`) kills every monitor and hypervisor recorded in the instances' metadata, by pid, and removes the
/// whole tree.
final class TestDataDirectory {
    /// The directory made by `mkdtemp`, which contains `data`.
    let parent: String
    /// The Stint data directory, `parent/data`. It is short, so QMP socket paths stay within 107 bytes.
    let path: String

    init() throws {
        var template = Array("/tmp/stint-api-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw TestFailure("mkdtemp failed for /tmp/stint-api-XXXXXX: \(String(cString: strerror(errno)))")
        }
        parent = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        path = parent + "/data"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit {
        cleanUp()
    }

    /// Returns the current metadata document of an instance, as stored.
    func metadataBytes(_ id: String) throws -> Data {
        try MetadataSlots(directory: "\(path)/instances/\(id)").readCurrent().body
    }

    /// The raw metadata of an instance, for facts the API does not show (process ids).
    func metadata(_ id: String) throws -> [String: Any] {
        let data = try metadataBytes(id)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("metadata of instance \(id) is not a JSON object")
        }
        return object
    }

    /// The QEMU process id recorded for an instance, or nil when none runs.
    func hypervisorPID(_ id: String) throws -> pid_t? {
        let processes = try metadata(id)["processes"] as? [String: Any]
        return (processes?["hypervisor_pid"] as? Int).map { pid_t($0) }
    }

    /// The ids of the instance directories, without the temporary `.creating-` and `.deleted-` ones.
    func instanceIDs() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path + "/instances")) ?? []
        return entries.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Every path under `parent`, relative to it, excluding what lies inside `data`.
    func entriesOutsideData() -> Set<String> {
        let all = FileManager.default.subpaths(atPath: parent) ?? []
        return Set(all.filter { $0 != "data" && !$0.hasPrefix("data/") })
    }

    /// Kills every monitor and hypervisor recorded under the data directory, by pid, and removes `parent`.
    func cleanUp() {
        let instances = path + "/instances"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: instances)) ?? [] {
            guard let data = try? MetadataSlots(directory: "\(instances)/\(entry)").readCurrent().body,
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let processes = object["processes"] as? [String: Any]
            else { continue }
            for key in ["hypervisor_pid", "monitor_pid"] {
                if let pid = processes[key] as? Int, pid > 1 {
                    kill(pid_t(pid), SIGKILL)
                }
            }
        }
        usleep(200_000)
        try? FileManager.default.removeItem(atPath: parent)
    }
}
