import Testing

@testable import Instances

@Suite struct InstanceIdentityTests {
    @Test(arguments: ["a", "web-1", "0", String(repeating: "x", count: 63), "a-b-c"])
    func validNamesPass(name: String) throws {
        try InstanceIdentity.validateName(name)
    }

    @Test(arguments: [
        "", "-web", "web-", "Web", "web_1", "web.1", "../etc", "a/b", "with space", "naïve",
        String(repeating: "x", count: 64), "0123456789abcdef", "web\n",
    ])
    func invalidNamesAreRejected(name: String) {
        #expect(throws: InstancesError.self) { try InstanceIdentity.validateName(name) }
    }

    @Test func rejectionNamesValueAndRule() {
        do {
            try InstanceIdentity.validateName("Bad\u{1}Name")
            Issue.record("no error")
        } catch let error as InstancesError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("Bad\\u{01}Name"))
            #expect(error.message.contains("lowercase letters"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func generatedIDsAreValidAndDistinct() {
        let ids = (0..<1_000).map { _ in InstanceIdentity.generateID() }
        #expect(ids.allSatisfy(InstanceIdentity.isValidID))
        #expect(Set(ids).count == ids.count)
        #expect(!InstanceIdentity.isValidID("../../etc/passwd"))
        #expect(!InstanceIdentity.isValidID("0123456789ABCDEF"))
    }
}
