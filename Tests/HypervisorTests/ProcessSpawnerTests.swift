import Foundation
import Glibc
import ProcessSupport
import Testing

@testable import Hypervisor

@Suite struct ProcessSpawnerTests {
    /// Returns the value of a `Key:\tvalue` line in /proc/PID/status.
    private func statusField(_ key: String, of pid: pid_t) throws -> String {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("\(key):") {
            return line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
        }
        throw TestFailure("No \(key) in /proc/\(pid)/status")
    }

    private func openDescriptors(of pid: pid_t) throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int32($0) }.sorted()
    }

    private func target(ofDescriptor descriptor: Int32, in pid: pid_t) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)")
    }

    /// Spawns `request` and waits until the child's new program image is fully set up.
    ///
    /// posix_spawn returns when the kernel releases the vfork parent, which happens before the kernel records the new
    /// argv and environment. /proc/PID/cmdline stays empty until then, and close-on-exec descriptors are already
    /// closed once it is filled in.
    private func spawnAndWaitForExec(_ request: SpawnRequest) throws -> pid_t {
        let pid = try ProcessSpawner.spawn(request)
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while readProcFile("/proc/\(pid)/cmdline")?.isEmpty != false {
            if ContinuousClock.now >= deadline {
                killAndReap(pid)
                throw TestFailure("\(request.executable) (pid \(pid)) did not finish exec within 5 s")
            }
            usleep(1000)
        }
        return pid
    }

    private func killAndReap(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    @Test func childHasEmptySignalMaskAndDefaultDispositions() throws {
        // Block SIGTERM on this thread and ignore SIGUSR2 in the process, as a Dispatch worker or a daemon might.
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previousMask)
        let previousHandler = signal(SIGUSR2, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
            signal(SIGUSR2, previousHandler)
        }

        let pid = try spawnAndWaitForExec(SpawnRequest(executable: "sleep", arguments: ["30"]))
        defer { killAndReap(pid) }

        #expect(try statusField("SigBlk", of: pid) == "0000000000000000")
        // glibc's posix_spawn leaves its two reserved real-time signals (32 and 33, bits 31 and 32) ignored.
        let ignored = try #require(UInt64(try statusField("SigIgn", of: pid), radix: 16))
        #expect(ignored & ~ProcessLaunch.glibcReservedSignalsMask == 0)
    }

    @Test func childInheritsOnlyListedDescriptors() throws {
        let directory = try TemporaryDirectory()
        // Opened without O_CLOEXEC, so only the spawner's closing keeps them out of the child.
        let listed = open(directory.file("listed"), O_WRONLY | O_CREAT, 0o600)
        let unlisted = open(directory.file("unlisted"), O_WRONLY | O_CREAT, 0o600)
        defer {
            close(listed)
            close(unlisted)
        }
        #expect(listed >= 0)
        #expect(unlisted >= 0)

        let pid = try spawnAndWaitForExec(
            SpawnRequest(executable: "sleep", arguments: ["30"], descriptors: [3: listed]))
        defer { killAndReap(pid) }

        #expect(try openDescriptors(of: pid) == [0, 1, 2, 3])
        #expect(try target(ofDescriptor: 0, in: pid) == "/dev/null")
        #expect(try target(ofDescriptor: 2, in: pid) == "/dev/null")
        #expect(try target(ofDescriptor: 3, in: pid) == directory.file("listed"))
    }

    @Test func descriptorMapMaySwapNumbers() throws {
        let directory = try TemporaryDirectory()
        let first = open(directory.file("first"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        let second = open(directory.file("second"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        defer {
            close(first)
            close(second)
        }

        // Child descriptor `first` gets the parent's `second` and the other way round.
        let request = SpawnRequest(executable: "sleep", arguments: ["30"], descriptors: [first: second, second: first])
        let pid = try spawnAndWaitForExec(request)
        defer { killAndReap(pid) }

        #expect(try target(ofDescriptor: first, in: pid) == directory.file("second"))
        #expect(try target(ofDescriptor: second, in: pid) == directory.file("first"))
    }

    @Test func newSessionWhenRequested() throws {
        let detached = try spawnAndWaitForExec(SpawnRequest(executable: "sleep", arguments: ["30"], newSession: true))
        defer { killAndReap(detached) }
        let attached = try spawnAndWaitForExec(SpawnRequest(executable: "sleep", arguments: ["30"], newSession: false))
        defer { killAndReap(attached) }

        #expect(getsid(detached) == detached)
        #expect(getsid(attached) == getsid(0))
    }

    @Test func environmentReplacesParentEnvironment() throws {
        let request = SpawnRequest(executable: "/bin/sleep", arguments: ["30"], environment: ["STINT_TEST": "a=b c"])
        let pid = try spawnAndWaitForExec(request)
        defer { killAndReap(pid) }

        let environment = try #require(readProcFile("/proc/\(pid)/environ"))
        #expect(String(decoding: environment, as: UTF8.self) == "STINT_TEST=a=b c\0")
    }

    @Test func argumentsArePassedWithoutShell() throws {
        // tail keeps following /dev/null after it reports the second argument as a missing file.
        let arguments = ["-f", "/dev/null", "; echo $HOME"]
        let pid = try spawnAndWaitForExec(SpawnRequest(executable: "tail", arguments: arguments))
        defer { killAndReap(pid) }

        let commandLine = try #require(readProcFile("/proc/\(pid)/cmdline"))
        #expect(String(decoding: commandLine, as: UTF8.self) == "tail\u{0}-f\u{0}/dev/null\u{0}; echo $HOME\u{0}")
    }

    @Test func closeOnExecFallbackMarksDescriptors() throws {
        let directory = try TemporaryDirectory()
        let descriptor = open(directory.file("plain"), O_WRONLY | O_CREAT, 0o600)
        defer { close(descriptor) }
        #expect(fcntl(descriptor, F_GETFD) & FD_CLOEXEC == 0)

        DescriptorCloser.markCloseOnExec(from: descriptor)

        #expect(fcntl(descriptor, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func missingExecutableThrows() {
        #expect {
            try ProcessSpawner.spawn(SpawnRequest(executable: "stint-no-such-program", arguments: []))
        } throws: { error in
            (error as? HypervisorError)?.code == .executableNotFound
        }
        #expect {
            try ProcessSpawner.spawn(SpawnRequest(executable: "/nonexistent/program", arguments: []))
        } throws: { error in
            (error as? HypervisorError)?.code == .executableNotFound
        }
    }

    @Test func closedParentDescriptorThrows() {
        #expect {
            try ProcessSpawner.spawn(SpawnRequest(executable: "sleep", arguments: ["1"], descriptors: [3: 1_000_000]))
        } throws: { error in
            (error as? HypervisorError)?.code == .invalidArgument
        }
    }
}
