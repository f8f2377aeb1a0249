import Foundation

/// Builds a tiny initramfs (newc cpio) whose `/init` prints `tick N` every 100 ms with N counting from 0.
///
/// The guest prints `guest-init-started` first. When the kernel command line contains `poweroff_at=N`, which the
/// kernel passes to init as an environment variable, the guest runs `poweroff -f` right after printing `tick N`.
/// Needs the static busybox of Debian's busybox-static package at /bin/busybox.
enum TestInitramfs {
    static let busyboxPath = "/bin/busybox"

    static let initScript = """
        #!/bin/busybox sh
        echo guest-init-started
        i=0
        while true; do
            echo "tick $i"
            if [ "$i" = "${poweroff_at:-never}" ]; then
                /bin/busybox poweroff -f
            fi
            i=$((i + 1))
            /bin/busybox sleep 0.1
        done

        """

    /// Writes the initramfs to `path`.
    static func write(to path: String) throws {
        guard let busybox = FileManager.default.contents(atPath: busyboxPath) else {
            throw TestFailure("\(busyboxPath) is missing. Install Debian's busybox-static package.")
        }
        var archive = CPIOArchive()
        archive.addDirectory("bin")
        archive.addDirectory("dev")
        // The kernel opens /dev/console as init's stdin, stdout and stderr, and does not mount devtmpfs for an initramfs.
        archive.addCharacterDevice("dev/console", major: 5, minor: 1)
        archive.addFile("bin/busybox", content: busybox, permissions: 0o755)
        archive.addFile("init", content: Data(initScript.utf8), permissions: 0o755)
        try archive.finished().write(to: URL(fileURLWithPath: path))
    }
}

/// A writer for the cpio "newc" format (magic 070701), the format the Linux kernel unpacks as initramfs.
struct CPIOArchive {
    private var data = Data()
    private var nextInode = 1

    mutating func addDirectory(_ name: String) {
        addEntry(name: name, mode: 0o040755, content: Data())
    }

    mutating func addFile(_ name: String, content: Data, permissions: Int) {
        addEntry(name: name, mode: 0o100000 | permissions, content: content)
    }

    mutating func addCharacterDevice(_ name: String, major: Int, minor: Int) {
        addEntry(name: name, mode: 0o020600, content: Data(), deviceMajor: major, deviceMinor: minor)
    }

    /// Returns the archive with its `TRAILER!!!` entry.
    mutating func finished() -> Data {
        addEntry(name: "TRAILER!!!", mode: 0, content: Data(), inode: 0)
        return data
    }

    private mutating func addEntry(
        name: String,
        mode: Int,
        content: Data,
        deviceMajor: Int = 0,
        deviceMinor: Int = 0,
        inode: Int? = nil
    ) {
        let nameBytes = Data(name.utf8) + [0]
        let fields = [
            inode ?? nextInode, mode, 0, 0, mode & 0o040000 != 0 ? 2 : 1, 0, content.count,
            0, 0, deviceMajor, deviceMinor, nameBytes.count, 0,
        ]
        nextInode += 1
        var header = "070701"
        for field in fields {
            header += String(format: "%08X", field)
        }
        data.append(Data(header.utf8))
        data.append(nameBytes)
        padToFourBytes()
        data.append(content)
        padToFourBytes()
    }

    private mutating func padToFourBytes() {
        while data.count % 4 != 0 {
            data.append(0)
        }
    }
}
