import Foundation

@testable import GuestImage

/// The image directory that all tests share, because downloading and extracting the kernel takes seconds.
///
/// `GuestImageStore.prepare()` takes a file lock, so tests running in parallel may all call it.
enum SharedImage {
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stint-guestimage-test").path

    static func prepare() throws -> GuestImage {
        try GuestImageStore(directory: directory).prepare()
    }
}
