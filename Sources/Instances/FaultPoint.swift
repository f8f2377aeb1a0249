import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Named points after each durable step of every operation, for crash testing.
///
/// Inert unless the environment variable `STINT_FAULT_POINT` names a point. The process then kills itself with
/// SIGKILL when it reaches that point, as a power cut or an OOM kill would. Monitors do not inherit
/// `STINT_FAULT_POINT`, so `STINT_MONITOR_FAULT_POINT` sets it for them instead.
public enum FaultPoint {
    /// Every point the code reaches, for tests that iterate over them.
    public static let all: [String] = [
        "create.after-publish",
        "start.after-launch", "start.after-save",
        "stop.after-shutdown-recorded", "stop.after-hypervisor-ended", "stop.after-save",
        "pause.after-intent", "pause.after-hypervisor", "pause.after-save",
        "resume.after-intent", "resume.after-hypervisor", "resume.after-save",
        "standby.after-intent", "standby.after-pause", "snapshot.after-migration", "standby.after-snapshot",
        "standby.after-save",
        "restore.after-launch", "restore.after-resume", "restore.after-save",
        "fork.after-source-paused", "fork.after-publish", "fork.after-source-resumed",
        "delete.after-journal", "delete.after-rename",
        "journal.after-metadata",
        "monitor.after-boot-recorded", "monitor.after-exit-recorded",
    ]

    private static let armed: String? = {
        let name = ProcessInfo.processInfo.environment["STINT_FAULT_POINT"]
        return name?.isEmpty == false ? name : nil
    }()

    /// A pause at one point, `NAME:SECONDS` in `STINT_FAULT_DELAY`, which keeps an operation in flight so tests can
    /// show what other requests do meanwhile.
    private static let delay: (name: String, seconds: Double)? = {
        guard let text = ProcessInfo.processInfo.environment["STINT_FAULT_DELAY"],
            let colon = text.lastIndex(of: ":"), let seconds = Double(text[text.index(after: colon)...])
        else { return nil }
        return (String(text[..<colon]), seconds)
    }()

    /// Kills the process with SIGKILL when `STINT_FAULT_POINT` is `name`, or sleeps when `STINT_FAULT_DELAY` names it.
    public static func reach(_ name: String) {
        if let delay, delay.name == name {
            usleep(UInt32(min(delay.seconds, 60) * 1_000_000))
        }
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }

    /// Returns whether `STINT_FAULT_POINT` names `name`, for a point whose condition costs work to check.
    static func isArmed(_ name: String) -> Bool { armed == name }

    /// Returns the environment for a monitor process: the current one without `STINT_FAULT_POINT`, with
    /// `STINT_MONITOR_FAULT_POINT` in its place when set.
    static func monitorEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "STINT_FAULT_POINT")
        if let monitorPoint = environment.removeValue(forKey: "STINT_MONITOR_FAULT_POINT") {
            environment["STINT_FAULT_POINT"] = monitorPoint
        }
        return environment
    }
}
