/// Why a spare cannot be chosen at this moment. Kept as a small value so the
/// hot path never builds strings; `description` is for /status and /decisions.
enum Exclusion: Sendable, Equatable {
    case linkNotUp(state: String)
    case noSample
    case notAnswering(polls: Int)
    case stale(age: Double, limit: Double)
    case unknownLoad
    case draining(reason: String)
    case otherDomain(domain: String, own: String)
    case atMaxLoad(load: Double, limit: Double)
    case awaitingReadmit(load: Double, readmit: Double)
    case notConfigured

    var description: String {
        switch self {
        case .linkNotUp(let state): "link is \(state)"
        case .noSample: "no load sample yet"
        case .notAnswering(let polls): polls == 1 ? "did not answer the last poll" : "did not answer the last \(polls) polls"
        case .stale(let age, let limit): "sample \(Percent.oneDecimal(age)) s old (stale after \(Percent.oneDecimal(limit)) s)"
        case .unknownLoad: "load unknown (the last reply was not a number)"
        case .draining(let reason): reason.isEmpty ? "draining" : "draining: \(reason)"
        case .otherDomain(let domain, let own): "in domain \(domain), not this server's domain \(own)"
        case .atMaxLoad(let load, let limit): "load \(Percent.text(load)) is at or above max_load \(Percent.text(limit))"
        case .awaitingReadmit(let load, let readmit): "load \(Percent.text(load)) has not come back below readmit_load \(Percent.text(readmit)) since it reached max_load"
        case .notConfigured: "no information about this spare yet"
        }
    }
}

/// Formatting of percentages and seconds for reasons, without Foundation.
enum Percent {
    /// `37.5 %`.
    static func text(_ value: Double) -> String { "\(oneDecimal(value)) %" }

    /// One decimal, e.g. `37.5`, `100.0`, `-2.0`.
    static func oneDecimal(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let tenths = Int64((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = tenths.magnitude
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }
}
