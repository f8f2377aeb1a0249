import Foundation
import Testing

@testable import Hypervisor

@Suite struct JSONValueTests {
    @Test func decodesQMPMessage() throws {
        let line =
            #"{"event": "STOP", "timestamp": {"seconds": 1700000000, "microseconds": 12}, "data": {"ok": true, "x": 1.5, "n": null, "list": [1, "a"]}}"#
        let message = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))

        #expect(message["event"]?.string == "STOP")
        #expect(message["timestamp"]?["seconds"]?.int == 1_700_000_000)
        #expect(message["data"]?["ok"]?.bool == true)
        #expect(message["data"]?["x"] == .double(1.5))
        #expect(message["data"]?["n"] == .null)
        #expect(message["data"]?["list"]?[0] == .int(1))
        #expect(message["data"]?["list"]?[1]?.string == "a")
        #expect(message["data"]?["list"]?[2] == nil)
        #expect(message["missing"] == nil)
    }

    @Test func roundTripsThroughEncoder() throws {
        let value: JSONValue = .object([
            "execute": "migrate", "arguments": .object(["uri": "fd:x", "n": 3, "flag": false]),
            "list": .array([.null, .double(0.25)]),
        ])
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }

    @Test func accessorsConvertNumbers() {
        #expect(JSONValue.double(4).int == 4)
        #expect(JSONValue.double(4.5).int == nil)
        #expect(JSONValue.int(3).double == 3)
        #expect(JSONValue.string("3").int == nil)
    }
}
