import Foundation
import Synchronization

/// A TCP port on 127.0.0.1 for a test's daemon to bind later: nothing holds it
/// now, and nothing else will take it meanwhile.
///
/// - It comes from below the kernel's ephemeral range (`ip_local_port_range`):
///   a port the kernel handed out for `bind(0)` is free again once released, and
///   any outgoing connection on the machine (another test's, a benchmark's
///   10,000 links) may take it as its source port before the daemon binds it;
///   the daemon then fails with "Address already in use" and its link never
///   comes up. A connect to a port in that range where nothing listens yet can
///   even be answered by itself (TCP simultaneous open).
/// - It is reserved across processes: a byte of `/tmp/balancerd-test-ports.lock`
///   (offset = port) is write-locked until this process exits, so two test runs
///   on one machine never hand out the same port. The kernel drops the locks with
///   the process: a killed run leaves nothing reserved.
/// - Within this process a port is handed out once.
public func freeLoopbackPort() throws -> Int { try PortReservations.reserve() }

enum PortReservations {
    static let lockPath = "/tmp/balancerd-test-ports.lock"
    /// The lowest port tried: below it are the well-known and registered ports other services use.
    static let lowest = 10_000

    private struct State {
        var taken: Set<Int> = []
        /// Opened once and never closed: closing any descriptor of the file would drop this process's locks.
        var lockFile: Int32 = -1
    }

    private static let state = Mutex(State())

    static func reserve() throws -> Int {
        let ceiling = ephemeralLow()
        guard ceiling - lowest >= 1_000 else { throw POSIXError(.EADDRNOTAVAIL) }
        return try state.withLock { state in
            if state.lockFile < 0 {
                state.lockFile = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
                guard state.lockFile >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EACCES) }
                fchmod(state.lockFile, 0o666)
            }
            for _ in 0..<10_000 {
                let port = Int.random(in: lowest..<ceiling)
                guard !state.taken.contains(port), lock(port, in: state.lockFile) else { continue }
                // Locked here from now on, whether or not something else holds the port.
                state.taken.insert(port)
                if isFree(port) { return port }
            }
            throw POSIXError(.EADDRINUSE)
        }
    }

    /// The first port of the kernel's ephemeral range (32768 when it cannot be read).
    static func ephemeralLow() -> Int {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }

    /// Write-locks byte `port` of the lock file; false when another process holds it.
    private static func lock(_ port: Int, in descriptor: Int32) -> Bool {
        var region = flock()
        region.l_type = Int16(F_WRLCK)
        region.l_whence = Int16(SEEK_SET)
        region.l_start = off_t(port)
        region.l_len = 1
        return fcntl(descriptor, F_SETLK, &region) == 0
    }

    /// True when 127.0.0.1:`port` can be bound now (as the daemons bind: SO_REUSEADDR,
    /// so a connection of an earlier test left in TIME_WAIT does not count).
    private static func isFree(_ port: Int) -> Bool {
        guard let (descriptor, _) = try? boundLoopbackSocket(port: port, reuseAddress: true) else { return false }
        close(descriptor)
        return true
    }
}

/// A socket listening on 127.0.0.1 that accepts and never answers (a hung
/// peer), and its port; close the descriptor to stop it.
public func silentLoopbackListener() throws -> (descriptor: Int32, port: Int) {
    let (descriptor, port) = try boundLoopbackSocket()
    listen(descriptor, 16)
    return (descriptor, port)
}

/// A TCP socket bound to 127.0.0.1 at `port` (0: one the kernel picks), and
/// that port; with `reuseAddress`, SO_REUSEADDR (a port a closed agent held).
func boundLoopbackSocket(port: Int = 0, reuseAddress: Bool = false) throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var reuse: Int32 = 1
    if reuseAddress { setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size)) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
    guard bound == 0 else {
        close(descriptor)
        throw POSIXError(.EADDRINUSE)
    }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
