import Foundation

/// A kernel module to put in the initramfs under `/lib/modules`.
struct InitramfsModule {
    /// File name such as `evdev.ko`.
    let fileName: String
    let contents: Data
}

/// Builds the guest initramfs: busybox, the kernel modules, the acpid configuration and the guest init.
enum InitramfsBuilder {
    /// The Debian package that provides a statically linked `/bin/busybox`.
    static let busyboxPackage = "busybox-static"

    /// Checks that `busybox` is an x86-64 ELF executable without a `PT_INTERP` program header, because the
    /// initramfs has no dynamic loader or C library.
    ///
    /// - Throws: `GuestImageError` with code `.invalidBusybox` or `.invalidELF`, naming `busyboxPackage`.
    static func checkStaticallyLinked(busybox: Data, path: String) throws {
        let elf: ELFFile
        do {
            elf = try ELFFile(data: busybox, path: path)
        } catch let error as GuestImageError {
            throw GuestImageError(
                .invalidBusybox,
                "\(error.message) The initramfs needs a statically linked busybox from Debian's \(busyboxPackage) package."
            )
        }
        if try elf.programHeaderTypes().contains(ELFFile.programHeaderTypeInterpreter) {
            throw GuestImageError(
                .invalidBusybox,
                "\(path) is dynamically linked (it has a PT_INTERP program header), but the initramfs has no dynamic loader; install Debian's \(busyboxPackage) package, which provides a statically linked /bin/busybox."
            )
        }
    }

    /// Returns the uncompressed newc cpio archive of the initramfs.
    ///
    /// `modules` are loaded in the given order, so dependencies must come first.
    /// - Throws: `GuestImageError` with code `.moduleNotFound` when a module file name has characters
    ///   other than letters, digits, `_`, `-` and `.`, because the init script contains the names unquoted.
    static func archive(busybox: Data, modules: [InitramfsModule]) throws -> Data {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        for module in modules
        where module.fileName.isEmpty || !module.fileName.allSatisfy(allowed.contains)
            || !module.fileName.hasSuffix(".ko")
        {
            throw GuestImageError(
                .moduleNotFound,
                "Kernel module file name '\(module.fileName)' is not of the form NAME.ko with letters, digits, '_', '-' and '.'; delete the image directory and prepare again."
            )
        }

        let directories = [
            "bin", "dev", "etc", "etc/acpi", "etc/acpi/PWRF", "lib", "lib/modules", "proc", "run", "sbin", "sys",
            "usr", "usr/bin", "usr/sbin",
        ]
        var entries = directories.map { NewcEntry(path: $0, permissions: 0o755, kind: .directory) }
        entries.append(NewcEntry(path: "tmp", permissions: 0o1777, kind: .directory))
        // The kernel opens /dev/console (character device 5:1) as the init's standard streams before
        // the init mounts devtmpfs over /dev.
        entries.append(NewcEntry(path: "dev/console", permissions: 0o600, kind: .characterDevice(major: 5, minor: 1)))
        entries.append(NewcEntry(path: "bin/busybox", permissions: 0o755, kind: .regularFile(busybox)))
        for module in modules {
            entries.append(
                NewcEntry(
                    path: "lib/modules/" + module.fileName, permissions: 0o644, kind: .regularFile(module.contents)))
        }
        entries.append(
            NewcEntry(
                path: String(GuestInit.acpidActionFilePath.dropFirst()), permissions: 0o644,
                kind: .regularFile(Data(GuestInit.acpidActionFile.utf8))))
        entries.append(
            NewcEntry(
                path: String(GuestInit.powerButtonHandlerPath.dropFirst()), permissions: 0o755,
                kind: .regularFile(Data(GuestInit.powerButtonHandler.utf8))))
        let script = GuestInit.script(modules: modules.map(\.fileName))
        entries.append(NewcEntry(path: "init", permissions: 0o755, kind: .regularFile(Data(script.utf8))))
        return NewcArchive.archive(entries)
    }
}
