import Foundation
import GuestImage

/// Returns the guest kernel for QEMU tests: `STINT_TEST_KERNEL` when set, else the kernel that `GuestImageStore`
/// extracts from Debian's `linux-image-cloud-amd64` into the image cache that the end-to-end tests share.
///
/// The tests fail instead of skipping when no kernel can be had, so a run without a kernel never looks like a pass.
func testKernelPath() throws -> String {
    guard let path = ProcessInfo.processInfo.environment["STINT_TEST_KERNEL"], !path.isEmpty else {
        do {
            return try GuestImageStore(directory: "/tmp/stint-test-images").prepare().kernelPath
        } catch {
            throw TestFailure(
                "no test kernel: STINT_TEST_KERNEL is not set and preparing the guest image failed: \(error)")
        }
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw TestFailure("STINT_TEST_KERNEL=\(path) is not a readable file. Point it at an x86-64 bzImage.")
    }
    return path
}
