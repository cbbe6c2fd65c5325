import Lonc

/// Input: the text of a hosts table. What the parser accepts is well formed
/// (unique ids without `:`, hostnames, addresses, ports in range); what it
/// refuses comes with problems that name real lines.
public enum HostsTableFuzz {
    static func run(_ bytes: [UInt8]) -> [String] {
        check(String(decoding: bytes, as: UTF8.self))
    }

    /// The invariants broken by parsing `text`.
    public static func check(_ text: String) -> [String] {
        let lineCount = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).count
        var broken: [String] = []
        do {
            let table = try HostsTable.parse(text, file: "hosts.tab")
            if Set(table.ids).count != table.ids.count { broken.append("duplicate ids accepted: \(table.ids)") }
            for entry in table.entries {
                if entry.id.isEmpty || entry.id.contains(":") { broken.append("bad id accepted: \(entry.id.debugDescription)") }
                if !HostsTable.isHostname(entry.hostname) { broken.append("bad hostname accepted: \(entry.hostname.debugDescription)") }
                if entry.address.isEmpty { broken.append("empty address accepted for \(entry.id)") }
                if let port = entry.port, !(1...65_535).contains(port) { broken.append("port \(port) accepted") }
            }
        } catch {
            if error.problems.isEmpty { broken.append("refused without a problem") }
            for problem in error.problems {
                if problem.message.isEmpty { broken.append("a problem without a message") }
                if let line = problem.line, !(1...max(lineCount, 1)).contains(line) {
                    broken.append("problem names line \(line) of \(lineCount): \(problem)")
                }
            }
        }
        return broken
    }
}
