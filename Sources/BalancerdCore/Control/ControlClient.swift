import Foundation

/// The client side of `<socket_dir>/control`, for `balancerd ctl`.
public enum ControlClient {
    /// Sends one command line and returns the reply line.
    public static func send(_ command: String, to path: String) throws(ControlError) -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ControlError("cannot make a socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw ControlError("\(path): path too long for a UNIX socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            switch errno {
            case ENOENT, ECONNREFUSED:
                throw ControlError("no balancerd is listening on \(path): is `balancerd serve` running (and socket_dir the same)?")
            case EACCES, EPERM:
                throw ControlError("\(path): permission denied (the control socket belongs to the user running balancerd)")
            default:
                throw ControlError("\(path): \(String(cString: strerror(errno)))")
            }
        }
        let bytes = Array((command + "\n").utf8)
        _ = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !reply.contains(0x0A) {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            reply += chunk[..<count]
        }
        guard let newline = reply.firstIndex(of: 0x0A) else { throw ControlError("\(path): the daemon closed without a reply") }
        return String(decoding: reply[..<newline], as: UTF8.self)
    }
}
