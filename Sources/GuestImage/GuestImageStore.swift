import Foundation

/// The cache of guest images in one directory: `vmlinuz`, `modules/` and `initramfs.cpio`.
///
/// `prepare()` takes an exclusive `flock` on `lock` in the directory, so several processes and threads
/// may prepare the same directory at once.
public struct GuestImageStore: Sendable {
    /// Absolute path of the cache directory.
    public let directory: String
    /// Path of the statically linked busybox that goes into the initramfs.
    public let busyboxPath: String

    /// Creates a store for `directory`, where kernel, modules and initramfs are cached.
    ///
    /// Stint passes `<data>/system` or `STINT_IMAGE_DIR`. A relative `directory` is resolved against the
    /// current directory now. Nothing is read or written until `prepare()`.
    public init(directory: String, busyboxPath: String = "/bin/busybox") {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.busyboxPath = busyboxPath
    }

    /// Path where the kernel is cached.
    public var kernelPath: String { directory + "/vmlinuz" }
    /// Path where the initramfs is cached.
    public var initramfsPath: String { directory + "/initramfs.cpio" }

    var modulesDirectory: String { directory + "/modules" }
    /// File in `modulesDirectory` that lists the module file names in load order, one per line.
    var moduleOrderPath: String { modulesDirectory + "/order" }
    var lockPath: String { directory + "/lock" }
    static let temporaryPrefix = ".tmp-"

    /// Returns the image, extracting the kernel and building the initramfs when they are missing.
    ///
    /// The kernel and modules are extracted once, from the package that `linux-image-cloud-amd64`
    /// depends on at that time, so delete the directory to pick up a newer kernel. The download is about
    /// 27 MB (linux-image-6.1.0-57-cloud-amd64) and needs access to the apt sources.
    ///
    /// The initramfs is rebuilt in memory on every call and written only when its bytes differ from the
    /// cached file, so a changed busybox or guest init takes effect. Every file is written under a temp
    /// name and renamed, so a killed run leaves no partial file under a final name. The next call removes
    /// the temp files that a killed run left behind.
    ///
    /// - Throws: `GuestImageError` when busybox is missing or dynamically linked, a host tool (apt-cache,
    ///   apt-get, dpkg-deb) is missing or fails, the package lacks the kernel or a module, or a file
    ///   operation fails.
    public func prepare() throws -> GuestImage {
        let busybox: Data
        do {
            busybox = try FileSystem.readFile(busyboxPath)
        } catch {
            throw GuestImageError(
                .invalidBusybox,
                "Could not read busybox at \(busyboxPath); install Debian's \(InitramfsBuilder.busyboxPackage) package or pass the path of a statically linked busybox."
            )
        }
        try InitramfsBuilder.checkStaticallyLinked(busybox: busybox, path: busyboxPath)

        try FileSystem.createDirectory(directory)
        try FileSystem.withExclusiveLock(lockPath) {
            try removeTemporaryEntries()
            if !isKernelCached {
                try extractKernel()
            }
            try writeInitramfs(busybox: busybox)
        }
        return GuestImage(kernelPath: kernelPath, initramfsPath: initramfsPath)
    }

    /// The kernel counts as cached only when both the kernel and the module order file exist, because
    /// `extractKernel` renames the modules into place before the kernel.
    private var isKernelCached: Bool {
        FileManager.default.fileExists(atPath: kernelPath) && FileManager.default.fileExists(atPath: moduleOrderPath)
    }

    /// Removes the temp files and directories of runs that were killed. Only safe while holding the lock.
    private func removeTemporaryEntries() throws {
        for name in try FileSystem.contentsOfDirectory(directory) where name.hasPrefix(Self.temporaryPrefix) {
            try FileSystem.removeItem(directory + "/" + name)
        }
    }

    private func extractKernel() throws {
        let package = try KernelPackage.resolveImagePackage()
        let workDirectory = directory + "/" + Self.temporaryPrefix + UUID().uuidString
        try FileSystem.createDirectory(workDirectory)
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }

        let extracted = try KernelPackage.downloadAndExtract(package, into: workDirectory)
        let stagedModules = workDirectory + "/modules"
        try FileSystem.createDirectory(stagedModules)
        let order = try KernelModules.install(KernelModules.required, from: extracted.modulesRoot, into: stagedModules)
        try FileSystem.writeAtomically(
            Data(order.map { $0 + "\n" }.joined().utf8), to: stagedModules + "/order", permissions: 0o644)
        try FileSystem.writeAtomically(Data((package + "\n").utf8), to: stagedModules + "/package", permissions: 0o644)

        if FileManager.default.fileExists(atPath: modulesDirectory) {
            try FileSystem.removeItem(modulesDirectory)
        }
        try FileSystem.rename(stagedModules, to: modulesDirectory)
        try FileSystem.writeAtomically(
            try FileSystem.readFile(extracted.kernelPath), to: kernelPath, permissions: 0o644)
    }

    private func writeInitramfs(busybox: Data) throws {
        let orderText = String(decoding: try FileSystem.readFile(moduleOrderPath), as: UTF8.self)
        let modules = try orderText.split(separator: "\n").map { name in
            InitramfsModule(fileName: String(name), contents: try FileSystem.readFile(modulesDirectory + "/" + name))
        }
        let archive = try InitramfsBuilder.archive(busybox: busybox, modules: modules)
        if FileManager.default.contents(atPath: initramfsPath) != archive {
            try FileSystem.writeAtomically(archive, to: initramfsPath, permissions: 0o644)
        }
    }
}
