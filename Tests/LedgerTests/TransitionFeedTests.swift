import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// The transition feeds: cursors that survive a server restart, long polling, and deleted instances.
    @Suite struct TransitionFeedTests {
        @Test func feedResumesAfterRestart() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            var server = try LedgerServer(workspace)
            defer { server.stop() }

            let id = try createRunningInstance(server.client, name: "feed").id
            let read = try server.client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions")
            let seen = read.transitions.map(\.sequence)
            #expect(seen == Array(1...seen.count), "sequences \(seen)")
            let lastSequence = seen.count
            #expect(read.nextAfter == Int64(lastSequence))
            let global = try server.client.decode(TransitionsReply.self, "GET", "/transitions?after=0")
            #expect(global.instanceID == nil)
            #expect(global.transitions.map(\.sequence) == seen)
            let cursors = global.transitions.map(\.cursor)
            #expect(cursors == cursors.sorted(), "cursors \(cursors)")
            #expect(Set(cursors).count == cursors.count, "cursors \(cursors)")
            let lastCursor = global.nextAfter
            #expect(lastCursor == cursors.last)

            try perform("pause", on: id, server.client)
            try perform("resume", on: id, server.client)
            try perform("pause", on: id, server.client)

            #expect(server.stop() == .exited(0), "stint serve: \(server.process.errorOutput)")
            server = try LedgerServer(workspace)

            let resumed = try server.client.decode(
                TransitionsReply.self, "GET", "/instances/\(id)/transitions?after=\(lastSequence)")
            #expect(resumed.instanceID == id)
            #expect(resumed.transitions.map(\.sequence) == [lastSequence + 1, lastSequence + 2, lastSequence + 3])
            #expect(resumed.transitions.map(\.to) == ["paused", "running", "paused"])
            #expect(resumed.transitions.map(\.from) == ["running", "paused", "running"])
            #expect(resumed.nextAfter == Int64(lastSequence + 3))

            let globallyResumed = try server.client.decode(
                TransitionsReply.self, "GET", "/transitions?after=\(lastCursor)")
            #expect(globallyResumed.transitions.map(\.sequence) == resumed.transitions.map(\.sequence))
            #expect(globallyResumed.transitions.allSatisfy { $0.instanceID == id })
            let newCursors = globallyResumed.transitions.map(\.cursor)
            #expect(newCursors == newCursors.sorted(), "cursors \(newCursors)")
            #expect((newCursors.first ?? 0) > lastCursor, "cursors \(newCursors) after \(lastCursor)")
            #expect(globallyResumed.nextAfter == newCursors.last)
        }

        @Test func waitReturnsOnNewTransition() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client

            let id = try createRunningInstance(client, name: "waiter").id
            let known = try client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions")
            let cursor = try client.decode(TransitionsReply.self, "GET", "/transitions").nextAfter

            // With nothing new the feed keeps the request open for the whole wait and then returns no entries.
            let idleStart = ContinuousClock.now
            let idle = try client.decode(
                TransitionsReply.self, "GET", "/instances/\(id)/transitions?after=\(known.nextAfter)&wait=1")
            #expect(idle.transitions.isEmpty)
            #expect(idle.nextAfter == known.nextAfter)
            #expect(ContinuousClock.now - idleStart >= .milliseconds(900))

            let sentAt = ContinuousClock.now
            let instanceFeed = WaitingRequest(client, "/instances/\(id)/transitions?after=\(known.nextAfter)&wait=5")
            let globalFeed = WaitingRequest(client, "/transitions?after=\(cursor)&wait=5")
            usleep(1_000_000)
            let transitionAt = ContinuousClock.now
            try perform("pause", on: id, client)
            let transitionDoneAt = ContinuousClock.now

            for (label, request) in [("instance feed", instanceFeed), ("global feed", globalFeed)] {
                let (reply, finishedAt) = try request.result(timeout: .seconds(15))
                #expect(reply.status == 200, "\(label): \(reply.text)")
                let entries = try reply.decode(TransitionsReply.self).transitions
                #expect(entries.map(\.to) == ["paused"], "\(label) returned \(entries)")
                #expect(entries.first?.sequence == Int(known.nextAfter) + 1, "\(label)")
                #expect(finishedAt > transitionAt, "\(label) returned before the transition was made")
                // The pause writes its journal entry before it responds, and the feed polls the journal every
                // 100 ms, so the feed responds well within a second of the pause's response.
                #expect(
                    finishedAt - transitionDoneAt < .seconds(1),
                    "\(label) responded \(finishedAt - transitionDoneAt) after the pause")
                #expect(finishedAt - sentAt < .seconds(5), "\(label) took \(finishedAt - sentAt), its whole wait")
            }
        }

        @Test func deletedInstanceStaysReadable() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client

            let id = try createRunningInstance(client, name: "gone").id
            try perform("pause", on: id, client)
            let live = try client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions").transitions
            let deleted = try client.send("DELETE", "/instances/\(id)")
            #expect(deleted.status == 204, "DELETE returned \(deleted.status): \(deleted.text)")
            #expect(try client.send("GET", "/instances/\(id)").status == 404)

            let byID = try client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions")
            let byName = try client.decode(TransitionsReply.self, "GET", "/instances/gone/transitions")
            #expect(byID.instanceID == id)
            #expect(byName.instanceID == id)
            // A forced delete of a live instance stops it first, so two entries follow the ones read before.
            #expect(Array(byID.transitions.prefix(live.count)) == live)
            #expect(byID.transitions.dropFirst(live.count).map(\.to) == ["stopped", "deleted"])
            #expect(byID.transitions.map(\.sequence) == Array(1...live.count + 2))
            #expect(byName.transitions == byID.transitions)
            let unknown = try client.send("GET", "/instances/never-existed/transitions")
            #expect(unknown.status == 404, "unknown instance: \(unknown.status) \(unknown.text)")
        }
    }
}
