import Glibc

/// An IPv4 or IPv6 socket address parsed from an address literal.
struct SocketAddress {
    private(set) var storage = sockaddr_storage()
    let isIPv6: Bool

    /// Parses `host` as a dotted IPv4 or a textual IPv6 address (brackets allowed); host names are not
    /// resolved. Returns nil when `host` is neither.
    init?(host: String, port: UInt16) {
        var literal = host
        if literal.hasPrefix("[") && literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, literal, &ipv4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = ipv4
            withUnsafeMutableBytes(of: &storage) { destination in
                withUnsafeBytes(of: address) { destination.copyMemory(from: $0) }
            }
            isIPv6 = false
        } else if inet_pton(AF_INET6, literal, &ipv6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = ipv6
            withUnsafeMutableBytes(of: &storage) { destination in
                withUnsafeBytes(of: address) { destination.copyMemory(from: $0) }
            }
            isIPv6 = true
        } else {
            return nil
        }
    }

    /// Calls `body` with a pointer to the address as a `sockaddr`.
    func withSockaddrPointer<Result>(_ body: (UnsafePointer<sockaddr>) -> Result) -> Result {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0) }
        }
    }

    /// Formats the IP address of `address` as text, or returns an empty string for other families.
    static func ipText(of address: UnsafePointer<sockaddr>) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            var ipv4 = UnsafeRawPointer(address).load(as: sockaddr_in.self).sin_addr
            guard inet_ntop(AF_INET, &ipv4, &text, socklen_t(text.count)) != nil else { return "" }
        case AF_INET6:
            var ipv6 = UnsafeRawPointer(address).load(as: sockaddr_in6.self).sin6_addr
            guard inet_ntop(AF_INET6, &ipv6, &text, socklen_t(text.count)) != nil else { return "" }
        default:
            return ""
        }
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
