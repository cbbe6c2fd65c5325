import Foundation

/// `/health` as a table for a terminal (`balancerd ctl status`): the same
/// document, read by a person. An unknown figure reads `unknown`, never 0.
/// Text that came from elsewhere (a drain reason another instance sent, a
/// link error quoting a peer's line) is printed with every character a
/// terminal would act on written as `\u{1B}` (`terminalSafe`), so a peer
/// cannot move the cursor, retitle the window or hide a row.
///
///     msua1 · ok · up 1h 02m · balancerd 0.1.0
///     self: load 12.50 %, userload 3.00 %, effective 12.50 %
///     balancer: overflow → msua2 (42 redirected, 0 without target): …
///
///     PEER   LINK  LOAD %  USER %  EFF %  SPARE  ELIGIBLE  DELAYED  NOTE
///     msua2  up     37.50   10.00  37.50  yes    yes             0
extension HealthDocument {
    /// The document as lines of text, columns aligned.
    public func table() -> String {
        var lines = [
            "\(host) · \(status.rawValue) · up \(Self.duration(uptimeSeconds)) · balancerd \(version)",
            "self: load \(Self.percent(own.loadPercent)), userload \(Self.percent(own.userloadPercent)), effective \(Self.percent(own.effectivePercent))",
            "balancer: \(balancer.mode) → \(balancer.target) (\(balancer.redirectsTotal) redirected, \(balancer.noTargetTotal) without target): \(balancer.reason)",
            "",
        ].map(Self.terminalSafe)
        let header = ["PEER", "LINK", "LOAD %", "USER %", "EFF %", "SPARE", "ELIGIBLE", "DELAYED", "NOTE"]
        let rows = peers.map { peer -> [String] in
            let note = [
                peer.draining ? "draining\(peer.drainReason.map { ": \($0)" } ?? "")" : nil,
                // The last error of a link that is up again is history, not news.
                peer.excludedBecause, peer.link.state == .up ? nil : peer.link.lastError.map { "link: \($0)" },
                peer.load.stale && peer.load.sampledAt != nil ? "sample stale" : nil,
            ].compactMap { $0 }.joined(separator: "; ")
            return [
                peer.id, peer.link.state.rawValue, Self.number(peer.load.loadPercent), Self.number(peer.load.userloadPercent),
                Self.number(peer.load.effectivePercent), peer.spare ? "yes" : "no", peer.spare ? (peer.eligible ? "yes" : "no") : "-",
                "\(peer.delayed)", note,
            ].map(Self.terminalSafe)
        }
        let numeric: Set<Int> = [2, 3, 4, 7]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = row.indices.map { column -> String in
                let cell = row[column]
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                if column == row.count - 1 { return cell }
                return numeric.contains(column) ? pad + cell : cell + pad
            }
            lines.append(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        if peers.isEmpty { lines.append("(no peers)") }
        return lines.joined(separator: "\n")
    }

    /// `text` with C0 controls (tab and newline too), DEL, C1 controls, the
    /// Unicode line and paragraph separators and the bidirectional controls
    /// written as `\u{…}`, by Unicode scalar (a Character can join a control to
    /// what follows and hide it from a Character comparison).
    static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isTerminalControl) else { return text }
        var safe = ""
        for scalar in text.unicodeScalars {
            if isTerminalControl(scalar) {
                safe += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                safe.unicodeScalars.append(scalar)
            }
        }
        return safe
    }

    private static func isTerminalControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func number(_ value: Double?) -> String {
        guard let value else { return "unknown" }
        return String(format: "%.2f", value)
    }

    private static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.2f %%", $0) } ?? "unknown"
    }

    private static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        let (days, hours, minutes) = (total / 86400, total % 86400 / 3600, total % 3600 / 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(String(format: "%02d", minutes))m" }
        return "\(minutes)m \(String(format: "%02d", total % 60))s"
    }
}
