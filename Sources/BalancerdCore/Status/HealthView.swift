/// Which `/health` the query asks for: `?summary` (counts and the problem
/// peers, small at any size), `?peer=ID` (one peer), or everything.
enum HealthView: Equatable, CustomStringConvertible {
    case everything
    case summary
    case peer(String)

    /// Reads `summary` or `peer=ID` from a URL query; anything else is the whole document.
    init(urlQuery: String?) {
        self = .everything
        for pair in (urlQuery ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            switch parts.first {
            case "summary": self = .summary
            case "peer" where parts.count == 2: self = .peer(PeerListing.Query.decoded(parts[1]))
            default: continue
            }
            return
        }
    }

    var description: String {
        switch self {
        case .everything: "everything"
        case .summary: "summary"
        case .peer(let id): id
        }
    }
}
