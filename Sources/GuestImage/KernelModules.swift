import Foundation

/// Copies kernel modules and their dependencies out of an extracted module tree, decompressed, in load order.
///
/// Debian's cloud kernel package ships no `modules.dep`, so dependencies come from the `depends=` entry
/// of each module's `.modinfo` ELF section, which is what `modinfo -F depends` prints.
enum KernelModules {
    /// Modules that the guest init loads, relative to `lib/modules/<release>` and without a compression suffix:
    /// the ACPI power button driver, and evdev so that busybox acpid can read the button from `/dev/input/event*`.
    static let required = ["kernel/drivers/acpi/button.ko", "kernel/drivers/input/evdev.ko"]

    /// Compression suffixes that a module file may carry after `.ko`, with the tool that decompresses each.
    private static let decompressors: [(suffix: String, tool: String, package: String, arguments: [String])] = [
        (".xz", "xz", "xz-utils", ["-d", "-c"]),
        (".zst", "zstd", "zstd", ["-d", "-c", "-q"]),
        (".gz", "gzip", "gzip", ["-d", "-c"]),
    ]

    /// Writes `required` and everything they depend on into `destination` as `NAME.ko` files and returns
    /// those file names with every module after its dependencies.
    ///
    /// - Throws: `GuestImageError` with code `.moduleNotFound` when a module or dependency is not in
    ///   `modulesRoot` or the dependencies form a cycle, and other codes when decompression or writing fails.
    static func install(_ required: [String], from modulesRoot: String, into destination: String) throws -> [String] {
        let index = try indexModules(under: modulesRoot)
        var order: [String] = []
        var visiting: Set<String> = []
        var contents: [String: Data] = [:]

        func visit(name: String, path: String, requiredBy parent: String?) throws {
            if contents[name] != nil {
                return
            }
            guard !visiting.contains(name) else {
                throw GuestImageError(
                    .moduleNotFound,
                    "Kernel module \(name) depends on itself through \(parent ?? name); the module tree in \(modulesRoot) is inconsistent, so delete the image directory and prepare again."
                )
            }
            visiting.insert(name)
            let data = try decompressedContents(of: path)
            for dependency in try dependencies(of: data, path: path) {
                let key = normalizedName(dependency)
                guard let dependencyPath = index[key] else {
                    throw GuestImageError(
                        .moduleNotFound,
                        "Kernel module \(dependency), which \(name) depends on, is not in \(modulesRoot); use a kernel package that ships it."
                    )
                }
                try visit(name: key, path: dependencyPath, requiredBy: name)
            }
            visiting.remove(name)
            contents[name] = data
            order.append(name)
        }

        for relativePath in required {
            guard let path = existingModulePath(modulesRoot + "/" + relativePath) else {
                throw GuestImageError(
                    .moduleNotFound,
                    "Kernel module \(relativePath) (or a compressed .xz, .zst or .gz copy) is not in \(modulesRoot); use a kernel package that builds it as a module."
                )
            }
            try visit(name: normalizedName(moduleName(ofFile: path)), path: path, requiredBy: nil)
        }

        var fileNames: [String] = []
        for name in order {
            let fileName = name + ".ko"
            try FileSystem.writeAtomically(
                contents[name] ?? Data(), to: destination + "/" + fileName, permissions: 0o644)
            fileNames.append(fileName)
        }
        return fileNames
    }

    /// Returns the module names in the `depends=` entry of the module's `.modinfo` section.
    static func dependencies(of moduleData: Data, path: String) throws -> [String] {
        let elf = try ELFFile(data: moduleData, path: path)
        guard let modinfo = try elf.section(named: ".modinfo") else {
            throw GuestImageError(
                .invalidELF,
                "\(path) has no .modinfo section, so it is not a kernel module; replace the kernel package files.")
        }
        for entry in modinfo.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if text.hasPrefix("depends=") {
                return text.dropFirst("depends=".count).split(separator: ",").map(String.init)
            }
        }
        return []
    }

    /// Returns the file contents, decompressed when the name ends in a compression suffix after `.ko`.
    static func decompressedContents(of path: String) throws -> Data {
        for decompressor in decompressors where path.hasSuffix(".ko" + decompressor.suffix) {
            let tool = try HostTool.locate(decompressor.tool, debianPackage: decompressor.package)
            return try HostTool.run(tool, decompressor.arguments + [path]).standardOutput
        }
        return try FileSystem.readFile(path)
    }

    /// Returns `name` with each `-` replaced by `_`, because the kernel and kmod treat both as the same character in module names.
    static func normalizedName(_ name: String) -> String {
        name.replacingOccurrences(of: "-", with: "_")
    }

    /// Returns the module name of a file such as `.../evdev.ko.xz`, here `evdev`.
    static func moduleName(ofFile path: String) -> String {
        var name = (path as NSString).lastPathComponent
        for decompressor in decompressors where name.hasSuffix(decompressor.suffix) {
            name.removeLast(decompressor.suffix.count)
        }
        if name.hasSuffix(".ko") {
            name.removeLast(3)
        }
        return name
    }

    private static func existingModulePath(_ uncompressedPath: String) -> String? {
        let candidates = [uncompressedPath] + decompressors.map { uncompressedPath + $0.suffix }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Maps the normalized name of every module file under `root` to its path.
    private static func indexModules(under root: String) throws -> [String: String] {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw GuestImageError(
                .fileSystem,
                "Could not list the kernel modules in \(root); check that the directory exists and is readable.")
        }
        var index: [String: String] = [:]
        while let relativePath = enumerator.nextObject() as? String {
            let isModule =
                relativePath.hasSuffix(".ko") || decompressors.contains { relativePath.hasSuffix(".ko" + $0.suffix) }
            let name = normalizedName(moduleName(ofFile: relativePath))
            if isModule && index[name] == nil {
                index[name] = root + "/" + relativePath
            }
        }
        return index
    }
}
