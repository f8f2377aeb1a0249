import Foundation
import Testing

@testable import GuestImage

@Suite struct BusyboxCheckTests {
    @Test func staticBusyboxIsAccepted() throws {
        let path = "/bin/busybox"
        let data = try #require(
            FileManager.default.contents(atPath: path), "\(path) is missing; install Debian's busybox-static package")

        try InitramfsBuilder.checkStaticallyLinked(busybox: data, path: path)
    }

    @Test func dynamicExecutableIsRejected() throws {
        let path = "/bin/ls"
        let data = try #require(FileManager.default.contents(atPath: path))
        let error = #expect(throws: GuestImageError.self) {
            try InitramfsBuilder.checkStaticallyLinked(busybox: data, path: path)
        }

        #expect(error?.code == .invalidBusybox)
        #expect(error?.message.contains("PT_INTERP") == true)
        #expect(error?.message.contains("busybox-static") == true)
    }

    @Test func nonELFFileIsRejected() {
        let error = #expect(throws: GuestImageError.self) {
            try InitramfsBuilder.checkStaticallyLinked(busybox: Data("#!/bin/sh\n".utf8), path: "/tmp/script")
        }

        #expect(error?.code == .invalidBusybox)
        #expect(error?.message.contains("busybox-static") == true)
    }

    @Test func truncatedELFIsRejected() throws {
        let data = try #require(FileManager.default.contents(atPath: "/bin/busybox"))
        // Keep the header but cut the program header table off.
        #expect(throws: GuestImageError.self) {
            try InitramfsBuilder.checkStaticallyLinked(busybox: data.prefix(64), path: "/tmp/truncated")
        }
    }
}
