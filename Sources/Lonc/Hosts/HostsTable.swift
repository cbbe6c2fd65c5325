import Foundation

/// The servers of the network, parsed from `hosts.tab` (the seed's format):
///
///     # id:domain:role:hostname:ip
///     msul1:msu:library:zaphod.lite.msu.edu:35.8.63.51
///     msua2:msu:access:bistromath.lite.msu.edu:127.0.0.1:5702
///     msua3:msu:access:trillian.lite.msu.edu:[::1]:5703
///
/// `#` starts a comment; blank lines are allowed; ids are unique.
public struct HostsTable: Sendable, Equatable {
    /// The entries, in file order.
    public private(set) var entries: [HostEntry]
    private var indexByID: [String: Int]

    /// Creates a table from entries whose ids are already known to be unique.
    public init(entries: [HostEntry]) {
        self.entries = entries
        self.indexByID = [:]
        for (index, entry) in entries.enumerated() where indexByID[entry.id] == nil {
            indexByID[entry.id] = index
        }
    }

    /// The entry with this id, if any.
    public subscript(id: String) -> HostEntry? {
        indexByID[id].map { entries[$0] }
    }

    /// Every id, in file order.
    public var ids: [String] { entries.map(\.id) }

    /// Parses the text of a hosts table. Every bad line is reported, not only the first.
    ///
    /// - Parameter file: the path shown in errors.
    /// - Throws: `HostsTableError` listing each problem with its line number.
    public static func parse(_ text: String, file: String) throws(HostsTableError) -> HostsTable {
        var entries: [HostEntry] = []
        var problems: [HostsTableError.Problem] = []
        var firstLineOfID: [String: Int] = [:]

        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let content = line.trimmingCharacters(in: .whitespaces)
            if content.isEmpty { continue }
            switch parseLine(content) {
            case .success(let entry):
                if let first = firstLineOfID[entry.id] {
                    problems.append(.init(line: lineNumber, message: "duplicate id '\(entry.id)' (first defined on line \(first))"))
                } else {
                    firstLineOfID[entry.id] = lineNumber
                    entries.append(entry)
                }
            case .failure(let message):
                problems.append(.init(line: lineNumber, message: message.text))
            }
        }
        guard problems.isEmpty else { throw HostsTableError(file: file, problems: problems) }
        return HostsTable(entries: entries)
    }

    /// Reads and parses a hosts table file.
    public static func load(path: String) throws(HostsTableError) -> HostsTable {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw HostsTableError(file: path, problems: [.init(line: nil, message: "cannot read: \(error.localizedDescription)")])
        }
        return try parse(text, file: path)
    }

    private struct LineError: Error { var text: String }

    private static func parseLine(_ line: String) -> Result<HostEntry, LineError> {
        // The address is last and may hold colons itself ([::1]:5701), so split the
        // first four fields off and treat the rest as the address.
        let fields = line.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count == 5 else {
            return .failure(LineError(text: "expected 5 fields id:domain:role:hostname:ip, found \(fields.count)"))
        }
        let names = ["id", "domain", "role", "hostname", "ip"]
        for (name, value) in zip(names, fields) where value.isEmpty {
            return .failure(LineError(text: "empty \(name)"))
        }
        let (id, domain, role, hostname) = (fields[0], fields[1], fields[2], fields[3])
        for (name, value) in zip(names, [id, domain, role]) where !isToken(value) {
            return .failure(LineError(text: "\(name) '\(value)' may hold only letters, digits, '-', '_' and '.'"))
        }
        if let reason = reservedIDReason(id) { return .failure(LineError(text: reason)) }
        guard isHostname(hostname) else {
            return .failure(LineError(text: "hostname '\(hostname)' is not a valid DNS name"))
        }
        switch parseAddress(fields[4]) {
        case .success(let (address, port)):
            return .success(HostEntry(id: id, domain: domain, role: role, hostname: hostname, address: address, port: port))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// `1.2.3.4`, `1.2.3.4:5701`, `::1` / `2001:db8::1` (bare IPv6, no port), `[::1]:5701`, `[::1]`, `host.name[:port]`.
    private static func parseAddress(_ text: String) -> Result<(String, Int?), LineError> {
        var host = text
        var portText: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(LineError(text: "address '\(text)' opens '[' without a closing ']'"))
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    return .failure(LineError(text: "address '\(text)': expected ':port' after ']'"))
                }
                portText = String(rest.dropFirst())
            }
            guard isIPv6Literal(host) else { return .failure(LineError(text: "'\(host)' is not an IPv6 address")) }
        } else if text.filter({ $0 == ":" }).count >= 2 {
            guard isIPv6Literal(text) else { return .failure(LineError(text: "'\(text)' is not an IPv6 address (use [addr]:port for a port)")) }
        } else if let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        if !text.hasPrefix("["), !isIPv6Literal(host) {
            guard isIPv4Literal(host) || isHostname(host) else {
                return .failure(LineError(text: "ip '\(host)' is neither an IPv4 address nor a host name"))
            }
            if host.allSatisfy({ $0.isNumber || $0 == "." }), !isIPv4Literal(host) {
                return .failure(LineError(text: "ip '\(host)' is not a valid IPv4 address"))
            }
        }
        guard let portText else { return .success((host, nil)) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            return .failure(LineError(text: "port '\(portText)' is not a number from 1 to 65535"))
        }
        return .success((host, port))
    }

    /// The name of the control socket in `socket_dir`, beside one relay socket per id.
    public static let controlSocketName = "control"

    /// Why `id` cannot name a host: each id is also a file name in `socket_dir`
    /// (its relay socket), so it may be neither the control socket's name nor
    /// `.`, `..` or another hidden name.
    static func reservedIDReason(_ id: String) -> String? {
        if id == controlSocketName {
            return "id '\(id)' is reserved: <socket_dir>/\(id) is the control socket, and each id names its relay socket there"
        }
        if id.hasPrefix(".") {
            return "id '\(id)' may not start with '.': each id names its relay socket in <socket_dir>, and '.', '..' and hidden names are not socket names"
        }
        return nil
    }

    private static func isToken(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// True for a syntactically valid DNS name (letters, digits, '-', labels of 1–63 bytes).
    public static func isHostname(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
    }

    /// True for a dotted-quad IPv4 literal.
    public static func isIPv4Literal(_ s: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, s, &address) == 1
    }

    /// True for an IPv6 literal without brackets.
    public static func isIPv6Literal(_ s: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, s, &address) == 1
    }
}

/// A hosts table that could not be used; lists every bad line.
public struct HostsTableError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One bad line (or, with `line == nil`, the file as a whole).
    public struct Problem: Sendable, Equatable {
        /// 1-based line number, or nil for a problem with the whole file.
        public var line: Int?
        /// What is wrong, in words.
        public var message: String
        /// Creates a problem.
        public init(line: Int?, message: String) {
            self.line = line
            self.message = message
        }
    }
    /// The file, as named to the parser.
    public var file: String
    /// Every problem found, in line order.
    public var problems: [Problem]

    /// Creates an error.
    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    /// One line per problem: `hosts.tab:3: duplicate id 'msua1' (first defined on line 2)`.
    public var lines: [String] {
        problems.map { problem in
            if let line = problem.line { return "\(file):\(line): \(problem.message)" }
            return "\(file): \(problem.message)"
        }
    }

    public var description: String { lines.joined(separator: "\n") }
}
