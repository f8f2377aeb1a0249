import MonitorCore

#if canImport(Glibc)
    import Glibc
#endif

// `stint-monitor`: the per-instance parent of QEMU. Started by `stint` with its report pipe on descriptor 3 and
// every argument computed for it; not meant to be run by hand. It links no Foundation, so it stays small in memory.
let log = MonitorLog(label: "stint.monitor")
do {
    let arguments = try MonitorArguments(parsing: Array(CommandLine.arguments.dropFirst()))
    exit(Monitor(arguments: arguments, log: log).run(reportDescriptor: 3))
} catch {
    log.error("invalid command line", ["error": error.message])
    exit(64)
}
