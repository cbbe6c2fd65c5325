import Foundation

/// A client of `/login` as the booking limit knows it: its IPv4 address, or
/// its IPv6 /64 (one host is given a whole /64). No allocation: the fast
/// path builds one per request.
public struct ClientKey: Sendable, Equatable, Hashable {
    let value: UInt64

    public init(_ address: IPAddress) {
        value = Self.key(address.bytes.count == 4, address.bytes)
    }

    /// From a socket address (AF_INET or AF_INET6; an IPv4-mapped IPv6 address is its IPv4).
    init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let v4 = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr } }
            value = UInt64(UInt32(bigEndian: v4))
        case AF_INET6:
            let v6 = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr } }
            value = withUnsafeBytes(of: v6) { bytes in
                let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
                return mapped ? Self.key(true, bytes[12..<16]) : Self.key(false, bytes[0..<8])
            }
        default:
            return nil
        }
    }

    /// IPv4: the address (below 2³²); IPv6: the first 8 bytes with the top bit set, so no /64 equals an IPv4 address.
    private static func key<Bytes: Collection>(_ isV4: Bool, _ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        let value = bytes.prefix(isV4 ? 4 : 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return isV4 ? value : value | (1 << 63)
    }
}

/// How many logins one client may book (`balancer.address_rate`,
/// `balancer.address_burst`): a token bucket per client, as nginx's
/// `limit_req`. A login over the limit is answered as any other, from the
/// same decision, but books nothing in the ledger: a flood of bare `GET
/// /login` from one address cannot fill the spares' predictions.
///
/// Buckets live in a fixed table of 16,384 slots chosen by a hash of the
/// client (256 KiB, however many addresses come): two clients that share a
/// slot share a bucket, which only ever makes their limit stricter. O(1), no
/// allocation; called under the login balancer's lock.
struct AddressBookingLimit: Sendable {
    static let slots = 1 << 14
    let rate: Double
    let burst: Double
    private var tokens: [Double]
    private var stamps: [Double]

    /// `rate` logins a second, bursts of `burst`; `rate` 0: no limit.
    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
        tokens = rate > 0 ? Array(repeating: self.burst, count: Self.slots) : []
        stamps = rate > 0 ? Array(repeating: 0, count: Self.slots) : []
    }

    /// Whether `client` may book a login at `now` (and takes its token).
    mutating func books(_ client: ClientKey?, now: Double) -> Bool {
        guard rate > 0, let client else { return true }
        let slot = Int(truncatingIfNeeded: (client.value &* 0x9E37_79B9_7F4A_7C15) >> (64 - 14))
        let refilled = min(burst, tokens[slot] + max(0, now - stamps[slot]) * rate)
        stamps[slot] = now
        guard refilled >= 1 else {
            tokens[slot] = refilled
            return false
        }
        tokens[slot] = refilled - 1
        return true
    }
}
