import Foundation

/// The figures of a scenario's runs as a table (text for the terminal, Markdown for docs/BALANCING.md).
public enum SimulationReport {
    /// One row per contender, best peak first is *not* done: rows keep the order run, balancerd first.
    public static func table(_ scenario: Scenario, _ figures: [RunFigures], markdown: Bool = false) -> String {
        let overflow = figures.contains { $0.ownPeak != nil }
        let header = ["policy", "peak settled %", "s over max_load", "spread at storm end", "503 (with room)"]
            + (overflow ? ["kept here (overloaded)", "own peak %"] : [])
        let rows = figures.map { run -> [String] in
            [
                run.contender,
                "\(format(run.peak)) (\(run.peakServer))",
                format(run.secondsOver),
                run.spread.map(format) ?? "—",
                "\(run.refused) (\(run.refusedWithRoom))",
            ] + (overflow ? ["\(run.kept) (\(run.keptOverloaded))", run.ownPeak.map(format) ?? "—"] : [])
        }
        if markdown {
            let line = { (cells: [String]) in "| " + cells.joined(separator: " | ") + " |" }
            return ([line(header), line(header.map { _ in "---" })] + rows.map(line)).joined(separator: "\n")
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let line = { (cells: [String]) in
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// One decimal.
    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
