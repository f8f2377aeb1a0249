import Foundation

/// The kernel image and module tree of Debian's cloud kernel, extracted (not installed) into a directory.
struct ExtractedKernel {
    /// Path of `boot/vmlinuz-<release>` inside the extraction directory.
    let kernelPath: String
    /// Path of `lib/modules/<release>` inside the extraction directory.
    let modulesRoot: String
}

/// Downloads and extracts Debian's cloud kernel with apt-get and dpkg-deb.
enum KernelPackage {
    /// The meta package whose only dependency is the current versioned kernel image package.
    static let metaPackage = "linux-image-cloud-amd64"

    /// Returns the versioned image package that `metaPackage` depends on, for example
    /// `linux-image-6.1.0-57-cloud-amd64`.
    ///
    /// - Throws: `GuestImageError` when apt-cache is missing or fails, or its output names no image package.
    static func resolveImagePackage() throws -> String {
        let aptCache = try HostTool.locate("apt-cache", debianPackage: "apt")
        let output = try HostTool.run(aptCache, ["depends", metaPackage])
        let text = String(decoding: output.standardOutput, as: UTF8.self)
        // apt-cache prints one "  Depends: NAME" line per dependency; "|Depends:" marks an alternative.
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            for prefix in ["Depends: ", "|Depends: "] where trimmed.hasPrefix(prefix) {
                let name = trimmed.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("linux-image-") && name != metaPackage {
                    return name
                }
            }
        }
        throw GuestImageError(
            .kernelNotFound,
            "`apt-cache depends \(metaPackage)` names no linux-image-* package (output: \(text.trimmingCharacters(in: .whitespacesAndNewlines))); run `apt-get update` and check that the Debian main archive is in the apt sources."
        )
    }

    /// Downloads `package` into `workDirectory` and extracts it into `workDirectory/root`.
    ///
    /// - Throws: `GuestImageError` when a tool is missing or fails, or the package has no kernel or no modules.
    static func downloadAndExtract(_ package: String, into workDirectory: String) throws -> ExtractedKernel {
        let aptGet = try HostTool.locate("apt-get", debianPackage: "apt")
        let dpkgDeb = try HostTool.locate("dpkg-deb", debianPackage: "dpkg")

        // When the _apt user cannot write the directory, apt-get warns that the download ran unsandboxed
        // as root, but the download still succeeds.
        _ = try HostTool.run(aptGet, ["download", package], in: workDirectory)
        let entries = try FileSystem.contentsOfDirectory(workDirectory)
        guard let debName = entries.first(where: { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }) else {
            throw GuestImageError(
                .kernelNotFound,
                "`apt-get download \(package)` left no \(package)_*.deb in \(workDirectory) (found: \(entries.joined(separator: ", "))); check the apt configuration."
            )
        }

        let root = workDirectory + "/root"
        try FileSystem.createDirectory(root)
        _ = try HostTool.run(dpkgDeb, ["-x", workDirectory + "/" + debName, root])

        let bootDirectory = root + "/boot"
        let kernels = (try? FileSystem.contentsOfDirectory(bootDirectory))?.filter { $0.hasPrefix("vmlinuz-") } ?? []
        guard kernels.count == 1, let kernelName = kernels.first else {
            throw GuestImageError(
                .kernelNotFound,
                "\(debName) contains \(kernels.count) boot/vmlinuz-* files instead of one; check that \(package) is a kernel image package."
            )
        }
        let release = String(kernelName.dropFirst("vmlinuz-".count))

        // Debian moves /lib to /usr/lib in later releases, so look in both.
        let candidates = [root + "/lib/modules/" + release, root + "/usr/lib/modules/" + release]
        guard let modulesRoot = candidates.first(where: { FileSystem.isDirectory($0) }) else {
            throw GuestImageError(
                .kernelNotFound,
                "\(debName) has no module directory for release \(release) (looked in lib/modules and usr/lib/modules); check that \(package) is a kernel image package."
            )
        }
        return ExtractedKernel(kernelPath: bootDirectory + "/" + kernelName, modulesRoot: modulesRoot)
    }
}
