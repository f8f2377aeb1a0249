import Foundation
import Testing

@testable import GuestImage

@Suite struct GuestImageStoreTests {
    @Test func prepareCreatesKernelAndInitramfs() throws {
        let image = try SharedImage.prepare()
        let store = GuestImageStore(directory: SharedImage.directory)

        #expect(image.kernelPath == SharedImage.directory + "/vmlinuz")
        #expect(image.initramfsPath == SharedImage.directory + "/initramfs.cpio")
        // A bzImage carries "HdrS" at offset 0x202.
        let kernel = try #require(FileManager.default.contents(atPath: image.kernelPath))
        #expect(kernel.count > 1_000_000)
        #expect(kernel.subdata(in: 0x202..<0x206) == Data("HdrS".utf8))

        let order = try String(contentsOfFile: store.moduleOrderPath, encoding: .utf8)
        #expect(order.split(separator: "\n") == ["button.ko", "evdev.ko"])
    }

    @Test func initramfsHasGuestFiles() throws {
        let image = try SharedImage.prepare()
        let members = try NewcParser.parse(try #require(FileManager.default.contents(atPath: image.initramfsPath)))
        let byPath = Dictionary(members.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })

        for directory in ["dev", "proc", "sys", "etc", "tmp", "lib/modules", "run", "sbin", "usr/bin", "usr/sbin"] {
            #expect(byPath[directory].map { $0.mode & 0o170000 } == 0o040000, "missing directory \(directory)")
        }
        #expect(byPath["init"]?.mode == 0o100755)
        #expect(
            byPath["init"].map { String(decoding: $0.contents, as: UTF8.self).hasPrefix("#!/bin/busybox sh\n") } == true
        )
        #expect(byPath["bin/busybox"]?.contents == FileManager.default.contents(atPath: "/bin/busybox"))
        #expect(byPath["lib/modules/button.ko"] != nil)
        #expect(byPath["lib/modules/evdev.ko"] != nil)
        #expect(byPath["etc/acpid.conf"] != nil)
        #expect(byPath["etc/acpi/PWRF/00000080"]?.mode == 0o100755)
        #expect(byPath["dev/console"]?.mode == 0o020600)
    }

    @Test func modulesAreKernelModules() throws {
        _ = try SharedImage.prepare()
        let store = GuestImageStore(directory: SharedImage.directory)
        for name in ["button.ko", "evdev.ko"] {
            let path = store.modulesDirectory + "/" + name
            let data = try #require(FileManager.default.contents(atPath: path))
            #expect(try KernelModules.dependencies(of: data, path: path) == [])
        }
    }

    @Test func secondPrepareKeepsFiles() throws {
        let first = try SharedImage.prepare()
        let attributes = try FileManager.default.attributesOfItem(atPath: first.initramfsPath)
        let kernelAttributes = try FileManager.default.attributesOfItem(atPath: first.kernelPath)
        let second = try SharedImage.prepare()

        #expect(first == second)
        let after = try FileManager.default.attributesOfItem(atPath: second.initramfsPath)
        let kernelAfter = try FileManager.default.attributesOfItem(atPath: second.kernelPath)
        #expect(after[.systemFileNumber] as? Int == attributes[.systemFileNumber] as? Int)
        #expect(kernelAfter[.systemFileNumber] as? Int == kernelAttributes[.systemFileNumber] as? Int)
    }

    @Test func staleTemporaryEntriesAreRemoved() throws {
        _ = try SharedImage.prepare()
        let stale = SharedImage.directory + "/.tmp-stale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: stale + "/root", withIntermediateDirectories: true)
        _ = try SharedImage.prepare()

        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test func missingBusyboxIsReported() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stint-gi-nobusybox-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = #expect(throws: GuestImageError.self) {
            try GuestImageStore(directory: directory, busyboxPath: "/nonexistent/busybox").prepare()
        }

        #expect(error?.code == .invalidBusybox)
        #expect(error?.message.contains("/nonexistent/busybox") == true)
    }

    @Test func concurrentPreparesAgree() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stint-gi-concurrent-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let results = ConcurrentResults()
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            Thread.detachNewThread {
                results.append(Result { try GuestImageStore(directory: directory).prepare() })
                group.leave()
            }
        }
        group.wait()

        let images = try results.values.map { try $0.get() }
        #expect(images.count == 3)
        #expect(Set(images.map(\.initramfsPath)).count == 1)
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(entries == ["initramfs.cpio", "lock", "modules", "vmlinuz"])
        let shared = try #require(FileManager.default.contents(atPath: SharedImage.prepare().initramfsPath))
        #expect(FileManager.default.contents(atPath: images[0].initramfsPath) == shared)
    }
}

/// Results collected from several threads.
///
/// `@unchecked Sendable` is safe because `storage` is only touched while `lock` is held.
private final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Result<GuestImage, any Error>] = []

    func append(_ result: Result<GuestImage, any Error>) {
        lock.withLock { storage.append(result) }
    }

    var values: [Result<GuestImage, any Error>] {
        lock.withLock { storage }
    }
}
