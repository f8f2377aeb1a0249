import Foundation
import Instances
import PhaseTracking

/// One instance's API view, encoded once, with the total of its current phase left open so that a response can
/// write the total as of its own time without encoding the view again.
///
/// Only an instance whose view changes with nothing but the current phase's total can be kept this way: one that
/// is not live (its state does not depend on processes) and has no operation in progress. A class, so that a
/// response copies one reference per instance rather than the arrays inside.
final class EncodedInstanceView: Sendable {
    /// The JSON before the current phase's total, or the whole view when no phase accrues.
    let head: [UInt8]
    /// The JSON after the current phase's total.
    let tail: [UInt8]
    /// Nanoseconds accrued in the current phase before `since`, and the instant it was entered.
    let accruedNanoseconds: Int64
    let since: HostInstant?
    let state: InstanceState

    /// The maximum number of bytes `write` adds to `head` and `tail`: the digits of a non-negative `Int64`.
    static let maximumTotalDigits = 19

    /// The placeholder total written in the current phase's place, found again by its key.
    private static let placeholder = Int64.min

    /// Encodes `status` with `encode`, or returns nil when its view depends on more than the clock.
    init?(_ status: InstanceStatus, encode: (InstanceView) throws -> Data) {
        guard let metadata = status.metadata, !metadata.state.isLive, metadata.pendingOperation == nil,
            status.stateError == nil, status.state != .unknown
        else { return nil }
        var view = InstanceView(status)
        state = status.state
        guard let current = metadata.phases.currentPhase, let since = metadata.phases.since,
            view.phaseDurationsMilliseconds?[current.rawValue] != nil
        else {
            guard let encoded = try? encode(view) else { return nil }
            head = Array(encoded)
            tail = []
            accruedNanoseconds = 0
            self.since = nil
            return
        }
        view.phaseDurationsMilliseconds?[current.rawValue] = Self.placeholder
        guard let encoded = try? encode(view) else { return nil }
        let bytes = Array(encoded)
        // A string inside the JSON cannot contain this key with its quotes unescaped, so the match is the field.
        let marker = Array("\"\(current.rawValue)\":\(Self.placeholder)".utf8)
        guard let start = Self.lastRange(of: marker, in: bytes) else { return nil }
        let valueStart = start + marker.count - String(Self.placeholder).utf8.count
        head = Array(bytes[..<valueStart])
        tail = Array(bytes[(start + marker.count)...])
        accruedNanoseconds = metadata.phases.accruedNanoseconds[current] ?? 0
        self.since = since
    }

    /// The maximum number of bytes `write` needs.
    var maximumSize: Int { head.count + tail.count + Self.maximumTotalDigits }

    /// Writes the view at `offset` with the current phase's whole milliseconds as of `now`, the way
    /// `PhaseTracker.snapshot` counts them: the floor of the exact total, the live part never negative. The buffer
    /// must have `maximumSize` bytes free at `offset`. Returns the offset after the view.
    func write(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, now: HostInstant) -> Int {
        var position = Self.copy(head, into: buffer, at: offset)
        guard let since else { return position }
        let total = accruedNanoseconds.addingSaturating(max(0, now.nanoseconds(since: since)))
        position = Self.writeDecimal(max(0, total / 1_000_000), into: buffer, at: position)
        return Self.copy(tail, into: buffer, at: position)
    }

    /// Copies `bytes` to `offset`, returning the offset after them.
    static func copy(_ bytes: [UInt8], into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + source.count)]).copyMemory(from: source)
        }
        return offset + bytes.count
    }

    private static func writeDecimal(_ value: Int64, into buffer: UnsafeMutableRawBufferPointer, at offset: Int)
        -> Int
    {
        var digitCount = 1
        var rest = value / 10
        while rest > 0 {
            digitCount += 1
            rest /= 10
        }
        rest = value
        for index in stride(from: offset + digitCount - 1, through: offset, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        return offset + digitCount
    }

    private static func lastRange(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var start = bytes.count - needle.count
        while start >= 0 {
            if bytes[start] == needle[0], bytes[start..<(start + needle.count)].elementsEqual(needle) {
                return start
            }
            start -= 1
        }
        return nil
    }
}
