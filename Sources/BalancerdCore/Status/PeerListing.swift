/// Which peers an operator sees, and in what order, when there are thousands:
/// the problem peers first (link not up, a spare that cannot take logins,
/// draining, messages queued), then the rest in hosts-table order; narrowed
/// by a search, cut into pages. Pure: peers and a query in, a page out.
/// `/status` renders one page; `/health?summary` lists the first problems.
public struct PeerListing: Sendable, Equatable {
    /// What the operator asked for (`/status?q=…&page=…`).
    public struct Query: Sendable, Equatable {
        /// Peers whose id, hostname, domain, role or link state contains this (any case); empty: all.
        public var search: String
        /// 1-based.
        public var page: Int
        /// Rows per page.
        public var pageSize: Int

        /// The first page of everything.
        public init(search: String = "", page: Int = 1, pageSize: Int = PeerListing.defaultPageSize) {
            self.search = search
            self.page = max(1, page)
            self.pageSize = max(1, pageSize)
        }

        /// Reads `q` and `page` from a URL query (`q=a3&page=2`); anything else is ignored.
        public init(urlQuery: String?) {
            var search = ""
            var page = 1
            for pair in (urlQuery ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                let value = parts.count == 2 ? Self.decoded(parts[1]) : ""
                switch parts.first {
                case "q": search = value
                case "page": page = Int(value) ?? 1
                default: break
                }
            }
            self.init(search: search, page: page)
        }

        /// `+` as space and `%XX` escapes (an HTML form's GET); a bad escape is kept as written.
        static func decoded(_ text: String) -> String {
            let bytes = Array(text.utf8)
            var out: [UInt8] = []
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "+") {
                    out.append(UInt8(ascii: " "))
                } else if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                    let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
                {
                    out.append(value)
                    index += 2
                } else {
                    out.append(byte)
                }
                index += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Rows per page unless asked otherwise.
    public static let defaultPageSize = 100

    /// The peers of the page asked for, problems first.
    public var peers: [HealthDocument.Peer]
    /// Peers matching the search, on all pages.
    public var matching: Int
    /// Of those, the problem peers.
    public var problems: Int
    /// The page shown (clamped to the last page) and how many there are (at least 1).
    public var page: Int
    public var pages: Int
    /// Every peer by link state (`up`, `backoff`, …), before the search.
    public var linkStates: [String: Int]

    /// Lists `all` (hosts-table order) as `query` asks.
    public init(_ all: [HealthDocument.Peer], query: Query) {
        var states: [String: Int] = [:]
        for peer in all { states[peer.link.state.rawValue, default: 0] += 1 }
        let needle = query.search.lowercased()
        let matches = needle.isEmpty ? all : all.filter { Self.matches($0, needle) }
        let problemPeers = matches.filter(Self.isProblem)
        let ordered = problemPeers + matches.filter { !Self.isProblem($0) }
        let pages = max(1, (ordered.count + query.pageSize - 1) / query.pageSize)
        let page = min(query.page, pages)
        let start = (page - 1) * query.pageSize
        self.peers = Array(ordered[min(start, ordered.count)..<min(start + query.pageSize, ordered.count)])
        self.matching = matches.count
        self.problems = problemPeers.count
        self.page = page
        self.pages = pages
        self.linkStates = states
    }

    /// A peer an operator should look at: its link is not up, it is a spare or
    /// backup that cannot take logins, it is draining, or messages wait for it.
    public static func isProblem(_ peer: HealthDocument.Peer) -> Bool {
        peer.link.state != .up || ((peer.spare || peer.backup) && !peer.eligible) || peer.draining || peer.delayed > 0
    }

    static func matches(_ peer: HealthDocument.Peer, _ needle: String) -> Bool {
        [peer.id, peer.hostname, peer.domain, peer.role, peer.link.state.rawValue].contains { $0.lowercased().contains(needle) }
    }
}
