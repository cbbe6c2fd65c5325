import Foundation

/// An IPv4 or IPv6 address as bytes; IPv4-mapped IPv6 addresses are IPv4.
public struct IPAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, network order.
    var bytes: [UInt8]

    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(v4Bytes: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self.init(v6Bytes: withUnsafeBytes(of: &v6) { Array($0) })
    }

    init(v4Bytes: [UInt8]) { bytes = v4Bytes }

    /// IPv6 bytes; a `::ffff:a.b.c.d` address becomes IPv4.
    init(v6Bytes: [UInt8]) {
        if v6Bytes.count == 16, v6Bytes[0..<10].allSatisfy({ $0 == 0 }), v6Bytes[10] == 0xFF, v6Bytes[11] == 0xFF {
            bytes = Array(v6Bytes[12...])
        } else {
            bytes = v6Bytes
        }
    }

    /// From a socket address (AF_INET or AF_INET6).
    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let v4 = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr } }
            self.init(v4Bytes: withUnsafeBytes(of: v4) { Array($0) })
        case AF_INET6:
            let v6 = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr } }
            self.init(v6Bytes: withUnsafeBytes(of: v6) { Array($0) })
        default:
            return nil
        }
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
        inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Who may see /status, /health, /decisions and /metrics: a list of CIDR blocks.
public struct AddressAllowList: Sendable, Equatable {
    struct Block: Sendable, Equatable {
        var network: [UInt8]
        var prefix: Int

        func contains(_ address: IPAddress) -> Bool {
            guard address.bytes.count == network.count else { return false }
            var remaining = prefix
            for (a, b) in zip(address.bytes, network) {
                guard remaining > 0 else { return true }
                let bits = min(8, remaining)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    var blocks: [Block]

    /// Allows no one.
    public init() { blocks = [] }

    /// Parses `10.0.0.0/8`, `::1/128`, `192.0.2.7`; nil names the first bad entry.
    public init(parsing entries: [String]) throws(AllowListError) {
        blocks = []
        for entry in entries {
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { throw AllowListError(entry: entry) }
            let maximum = address.bytes.count * 8
            var prefix = maximum
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...maximum).contains(value) else { throw AllowListError(entry: entry) }
                prefix = value
            }
            blocks.append(Block(network: address.bytes, prefix: prefix))
        }
    }

    public func allows(_ address: IPAddress?) -> Bool {
        guard let address else { return false }
        return blocks.contains { $0.contains(address) }
    }
}

/// An entry of `http.status_allow` (or `key`) that is not an address or CIDR block.
public struct AllowListError: Error, Sendable, CustomStringConvertible {
    public var entry: String
    public var key = "http.status_allow"
    public var description: String { "\(key): '\(entry)' is not an address or CIDR block" }
}
