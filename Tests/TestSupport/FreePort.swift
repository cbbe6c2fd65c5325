import Foundation

/// A TCP port on 127.0.0.1 that nothing listens on right now (bound, then released).
public func freeLoopbackPort() throws -> Int {
    let (descriptor, port) = try boundLoopbackSocket()
    close(descriptor)
    return port
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
