#if canImport(Glibc)
    import Glibc
#endif

/// The monitor's side of Stint's fault points, for crash testing: the same variables and rules as `FaultPoint` of
/// the full `stint`, read with `getenv` because the monitor has no Foundation.
///
/// The launcher sets `STINT_FAULT_POINT` of the monitor from `STINT_MONITOR_FAULT_POINT`. When it names the point,
/// the monitor kills itself with SIGKILL there. `STINT_FAULT_DELAY=NAME:SECONDS` sleeps at the point instead
/// (at most 60 seconds).
enum MonitorFaultPoint {
    static func reach(_ name: String) {
        if let delay = getenv("STINT_FAULT_DELAY").map({ String(cString: $0) }),
            let colon = delay.lastIndex(of: ":"), delay[..<colon] == name,
            let seconds = Double(delay[delay.index(after: colon)...])
        {
            usleep(UInt32(max(0, min(seconds, 60)) * 1_000_000))
        }
        guard let armed = getenv("STINT_FAULT_POINT"), String(cString: armed) == name else { return }
        kill(getpid(), SIGKILL)
    }
}
