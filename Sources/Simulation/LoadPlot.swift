import Foundation

/// Each server's settled load over a run, one panel per contender side by
/// side, as a self-contained SVG (no script, no external font): what
/// `balancerd simulate --svg` writes and docs/BALANCING.md shows.
public enum LoadPlot {
    static let panelWidth = 300.0, panelHeight = 200.0
    static let margin = (left: 40.0, right: 10.0, top: 34.0, bottom: 30.0)
    static let columns = 4
    /// Distinct hues for up to ten servers; more repeat them.
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The SVG document for `results` of `scenario`.
    public static func svg(_ scenario: Scenario, _ results: [RunResult]) -> String {
        let maxLoad = scenario.policy.maxLoad
        let peak = results.map(\.figures.peak).max() ?? maxLoad
        let top = max(120, ((max(peak, maxLoad) + 10) / 20).rounded(.up) * 20)
        let cellWidth = panelWidth + margin.left + margin.right, cellHeight = panelHeight + margin.top + margin.bottom
        let columnCount = min(columns, max(1, results.count))
        let rows = (results.count + columnCount - 1) / columnCount
        let width = Double(columnCount) * cellWidth, height = Double(rows) * cellHeight + 24
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="8" y="16" font-size="13" font-weight="bold">\(escaped(scenario.name)): \(scenario.servers.count > manyServers ? "highest, median and lowest settled load of the spares" : "settled load of each server") (%), virtual time (s)</text>

            """
        for (index, result) in results.enumerated() {
            let x = Double(index % columnCount) * cellWidth + margin.left
            let y = Double(index / columnCount) * cellHeight + margin.top + 24
            svg += panel(result, x: x, y: y, top: top, maxLoad: maxLoad, duration: scenario.duration, servers: scenario.servers.count)
        }
        return svg + "</svg>\n"
    }

    private static func panel(_ result: RunResult, x: Double, y: Double, top: Double, maxLoad: Double, duration: Double, servers: Int) -> String {
        let figures = result.figures
        func px(_ time: Double) -> Double { x + time / max(duration, 1) * panelWidth }
        func py(_ load: Double) -> Double { y + panelHeight - min(load, top) / top * panelHeight }
        var out = "<g>\n"
        let title = "\(figures.contender): peak \(format(figures.peak)) %, \(format(figures.secondsOver)) s over"
        out += "<text x=\"\(format(x))\" y=\"\(format(y - 8))\" font-weight=\"bold\">\(escaped(title))</text>\n"
        out += "<rect x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(panelWidth))\" height=\"\(format(panelHeight))\" fill=\"none\" stroke=\"#999\"/>\n"
        for load in stride(from: 0.0, through: top, by: 20) {
            out += "<text x=\"\(format(x - 4))\" y=\"\(format(py(load) + 4))\" text-anchor=\"end\" fill=\"#555\">\(Int(load))</text>\n"
        }
        let step = niceStep(duration)
        for time in stride(from: 0.0, through: duration, by: step) {
            out += "<text x=\"\(format(px(time)))\" y=\"\(format(y + panelHeight + 14))\" text-anchor=\"middle\" fill=\"#555\">\(Int(time))</text>\n"
        }
        out += "<line x1=\"\(format(x))\" y1=\"\(format(py(maxLoad)))\" x2=\"\(format(x + panelWidth))\" y2=\"\(format(py(maxLoad)))\" stroke=\"#d00\" stroke-dasharray=\"4 3\"/>\n"
        let series = result.series
        for (index, line) in lines(series, servers: servers).enumerated() {
            let color = line.color ?? palette[index % palette.count]
            let dash = line.own ? " stroke-dasharray=\"2 2\"" : ""
            for segment in segments(line.loads, times: series.times, px: px, py: py) {
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\" stroke-opacity=\"0.8\"\(dash) points=\"\(segment)\"/>\n"
            }
        }
        return out + "</g>\n"
    }

    /// One line of a panel.
    struct Line {
        var loads: [Float]
        var own = false
        var color: String?
    }

    /// A line per server; past `manyServers` spares, their highest, median and
    /// lowest settled load at each moment instead (a hundred lines are a blur),
    /// and the balancers' own servers each.
    static let manyServers = 20

    static func lines(_ series: RunSeries, servers: Int) -> [Line] {
        let own = series.loads.dropFirst(servers).map { Line(loads: $0, own: true) }
        guard servers > manyServers else { return series.loads.prefix(servers).map { Line(loads: $0) } + own }
        var high: [Float] = [], middle: [Float] = [], low: [Float] = []
        for moment in series.times.indices {
            let loads = series.loads.prefix(servers).map { $0[moment] }.filter { !$0.isNaN }.sorted()
            high.append(loads.last ?? .nan)
            middle.append(loads.isEmpty ? .nan : loads[loads.count / 2])
            low.append(loads.first ?? .nan)
        }
        return [Line(loads: high, color: "#d62728"), Line(loads: middle, color: "#1f77b4"), Line(loads: low, color: "#2ca02c")] + own
    }

    /// The polyline point lists of one line: broken where the server is down,
    /// and only the moments where the load changes (settled loads move in steps).
    static func segments(_ loads: [Float], times: [Double], px: (Double) -> Double, py: (Double) -> Double) -> [String] {
        var segments: [String] = []
        var points: [String] = []
        for (index, load) in loads.enumerated() {
            guard !load.isNaN else {
                if points.count > 1 { segments.append(points.joined(separator: " ")) }
                points = []
                continue
            }
            let previous = index > 0 ? loads[index - 1] : .nan
            let next = index + 1 < loads.count ? loads[index + 1] : .nan
            // A point between two equal neighbours adds nothing to the line.
            if points.isEmpty || next.isNaN || load != previous || load != next {
                points.append("\(format(px(times[index]))),\(format(py(Double(load))))")
            }
        }
        if points.count > 1 { segments.append(points.joined(separator: " ")) }
        return segments
    }

    private static func niceStep(_ duration: Double) -> Double {
        for step in [10.0, 30, 60, 120, 300, 600, 900, 1800, 3600] where duration / step <= 6 { return step }
        return 7200
    }

    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
