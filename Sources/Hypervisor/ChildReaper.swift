import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reaps children that outlive the work that started them, so a long-running process (`stint serve`) does not
/// collect one zombie per guest it launched.
public enum ChildReaper {
    /// Stack size of a reaper thread, which only calls `waitpid`.
    private static let stackSize = 64 * 1024

    /// Waits for child `pid` on a thread of its own and discards its exit status. In a command that exits first,
    /// the thread ends with the process, and the child is reparented and reaped by init.
    public static func reapInBackground(_ pid: pid_t) {
        let reaper = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
        reaper.stackSize = stackSize
        reaper.start()
    }
}
