import Foundation
import Testing

@testable import GuestImage

@Suite struct HostToolTests {
    @Test func outputIsCaptured() throws {
        let output = try HostTool.run("/bin/sh", ["-c", "printf 'out'; printf 'err' >&2", "ignored $HOME"])

        #expect(output.standardOutput == Data("out".utf8))
        #expect(output.standardError == Data("err".utf8))
    }

    @Test func argumentsAreNotSplit() throws {
        let output = try HostTool.run("/usr/bin/printf", ["[%s]", "a b", "$HOME", "c;d"])

        #expect(String(decoding: output.standardOutput, as: UTF8.self) == "[a b][$HOME][c;d]")
    }

    @Test func failureCarriesStatusAndStandardError() {
        let error = #expect(throws: GuestImageError.self) {
            try HostTool.run("/bin/sh", ["-c", "echo 'disk on fire' >&2; exit 4"])
        }

        #expect(error?.code == .toolFailed)
        #expect(error?.message.contains("exit status 4") == true)
        #expect(error?.message.contains("disk on fire") == true)
    }

    @Test func largeOutputOnBothPipesDoesNotBlock() throws {
        // 1 MiB on each pipe is far more than a pipe buffer holds.
        let output = try HostTool.run("/bin/sh", ["-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2"])

        #expect(output.standardOutput.count == 1_048_576)
        #expect(output.standardError.count == 1_048_576)
    }

    @Test func missingToolNamesPackage() {
        let error = #expect(throws: GuestImageError.self) {
            try HostTool.locate("stint-no-such-tool", debianPackage: "stint-example-package")
        }

        #expect(error?.code == .toolNotFound)
        #expect(error?.message.contains("stint-example-package") == true)
    }
}
