import Foundation

/// `GET /status`: the operator page, rendered here from the same documents as
/// `/health` and `/decisions`, so it reads the same in `curl`, `w3m`, a
/// screen reader or a browser with scripts off. `Web/app.js` only fetches this
/// page again every 2 s and swaps its `<main>` in; it renders nothing itself.
///
/// Pure: documents in, HTML out. Every time is written in UTC and says so; an
/// unknown figure is written "unknown", never 0.
public struct StatusPage: Sendable {
    public var health: HealthDocument
    public var decisions: DecisionsDocument
    /// The peers shown: one page, problems first (`PeerListing`).
    public var listing: PeerListing
    /// The search and page asked for, kept in the pager's links.
    public var query: PeerListing.Query

    /// Folded decision lines shown at most.
    static let decisionLines = 10

    /// `listing`: the peers to show (nil: the first page of `health.peers`).
    public init(health: HealthDocument, decisions: DecisionsDocument, listing: PeerListing? = nil, query: PeerListing.Query = PeerListing.Query()) {
        self.health = health
        self.decisions = decisions
        self.listing = listing ?? PeerListing(health.peers, query: query)
        self.query = query
    }

    var thresholds: Thresholds {
        Thresholds(maxLoad: health.balancer.maxLoadPercent, readmitLoad: health.balancer.readmitLoadPercent)
    }

    public func html() -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>balancerd \(htmlEscaped(health.host)) · \(health.status.rawValue)</title>
        <link rel="stylesheet" href="/status/style.css">
        </head>
        <body>
        <div id="page">
        \(header())
        <main>
        \(summary())
        \(peersTable())
        \(legend())
        \(decisionList())
        </main>
        </div>
        <footer class="muted small">
          This page is made on the server; with JavaScript it refreshes itself every 2 s, without it reload to refresh.
          Data: <a href="/health">/health</a> · <a href="/decisions">/decisions</a> · <a href="/metrics">/metrics</a> · <a href="/status/openapi.yaml">API</a>
        </footer>
        <script src="/status/app.js" defer></script>
        </body>
        </html>

        """
    }

    /// Critical messages the peers refused wait in `delayed/rejected/` for an operator: say so in the header.
    private func relayBadge() -> String {
        guard let relay = health.relay else { return "" }
        guard let kept = relay.rejectedMessages else {
            return " <span class=\"badge degraded\" title=\"delayed/rejected/ cannot be read\">rejected messages: unknown</span>"
        }
        guard kept > 0 else { return "" }
        return " <span class=\"badge degraded\" title=\"critical messages a peer refused, kept with its reply in delayed/rejected/ (\(relay.rejectedTotal) since start)\">\(kept) rejected message\(kept == 1 ? "" : "s")</span>"
    }

    private func header() -> String {
        var badges = "<span class=\"badge \(health.status.rawValue)\" title=\"\(htmlEscaped(Self.statusMeaning(health.status)))\">\(health.status.rawValue)</span>"
        // `status` speaks of links and the login target; a server past max_load is
        // normal for an overflow balancer, but the header must not look all green then.
        if let own = health.own.effectivePercent, own >= thresholds.maxLoad {
            badges += " <span class=\"badge busy\">this server at \(percent(own)), max_load \(percent(thresholds.maxLoad))</span>"
        }
        badges += relayBadge()
        return """
            <header>
              <div class="title"><h1>balancerd <span id="host">\(htmlEscaped(health.host))</span></h1> \(badges)</div>
              <p class="muted">version \(htmlEscaped(health.version)) · up \(duration(health.uptimeSeconds)) (since \(time(health.startedAt))) · mode \(htmlEscaped(health.balancer.mode)) · page made \(time(health.generatedAt))</p>
            </header>
            """
    }

    private func summary() -> String {
        let own = health.own
        let target = switch health.balancer.target {
        case "self": "\(htmlEscaped(health.host)) (this server)"
        case "none": "nowhere: logins get 503"
        default: htmlEscaped(health.balancer.target)
        }
        return """
            <section class="summary" aria-label="This server and the next login">
              <div class="card">
                <h2>This server</h2>
                <div class="meter-row"><span class="label">load</span>\(meter(own.loadPercent, named: true))</div>
                <div class="meter-row"><span class="label">sessions</span>\(meter(own.userloadPercent, named: true))</div>
                <div class="meter-row"><span class="label">recent</span>\(sparkline(own.history))</div>
              </div>
              <div class="card">
                <h2>Next login goes to</h2>
                <p class="target">\(target)</p>
                <p class="reason">\(health.balancer.backup ? "<strong>backup in use</strong>: " : "")\(htmlEscaped(health.balancer.reason))</p>
                <p class="muted small">\(health.balancer.redirectsTotal) logins routed\(health.balancer.backupRedirectsTotal > 0 ? " (\(health.balancer.backupRedirectsTotal) to backups)" : "") · \(health.balancer.noTargetTotal) without a target (503) since start</p>
              </div>
            </section>
            """
    }

    private func peersTable() -> String {
        let rows = listing.peers.map(peerRow).joined(separator: "\n")
        let states = listing.linkStates.sorted { $0.key < $1.key }.map { "\($0.value) \(htmlEscaped($0.key))" }.joined(separator: " · ")
        let searched = query.search.isEmpty ? "" : " matching “\(htmlEscaped(query.search))”"
        let empty = health.peers.isEmpty ? "No other server in the hosts table." : "No peer matches."
        return """
            <section aria-label="Peers">
              <h2>Peers (\(health.peers.count))</h2>
              <p class="muted">links: \(states.isEmpty ? "none" : states) · <strong>\(listing.problems)</strong> problem peer\(listing.problems == 1 ? "" : "s")\(searched), listed first</p>
              <form method="get" action="/status" class="search"><label>search peers <input type="search" name="q" value="\(htmlEscaped(query.search))" placeholder="id, hostname, domain, link state"></label> <button>search</button></form>
              <table id="peers">
                <thead><tr><th>peer</th><th>link</th><th>load</th><th>sessions</th><th>recent</th><th>balancer</th><th>queued</th></tr></thead>
                <tbody>
            \(rows.isEmpty ? "<tr><td colspan=\"7\">\(empty)</td></tr>" : rows)
                </tbody>
              </table>
            \(pager())
            </section>
            """
    }

    /// "page 2 of 100" with links to the neighbours, keeping the search.
    private func pager() -> String {
        guard listing.pages > 1 else { return "" }
        func link(_ page: Int, _ text: String) -> String {
            let search = query.search.isEmpty ? "" : "q=\(percentEncoded(query.search))&"
            return "<a href=\"/status?\(search)page=\(page)\">\(text)</a>"
        }
        let previous = listing.page > 1 ? link(listing.page - 1, "← previous") : ""
        let next = listing.page < listing.pages ? link(listing.page + 1, "next →") : ""
        return "  <p class=\"pager\">\(previous) page \(listing.page) of \(listing.pages) (\(listing.matching) peers, \(query.pageSize) a page) \(next)</p>"
    }

    /// Every byte but ASCII letters and digits as `%XX` (`.alphanumerics` would
    /// keep non-ASCII letters and combining marks, which are no URL characters).
    private static let hexDigits = Array("0123456789ABCDEF")

    private func percentEncoded(_ text: String) -> String {
        text.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
                String(UnicodeScalar(byte))
            default:
                "%" + String(Self.hexDigits[Int(byte >> 4)]) + String(Self.hexDigits[Int(byte & 0xF)])
            }
        }.joined()
    }

    private func peerRow(_ peer: HealthDocument.Peer) -> String {
        let sampled = peer.load.sampledAt.map { "sampled \(time($0))\(peer.load.stale ? " · <strong>stale</strong>" : "")" } ?? "no sample yet"
        return """
            <tr data-peer-id="\(htmlEscaped(peer.id))">
              <td data-label="peer"><div class="id">\(htmlEscaped(peer.id))</div><div class="muted small">\(htmlEscaped(peer.hostname)) · \(htmlEscaped(peer.domain))/\(htmlEscaped(peer.role))\(peer.backup ? " · backup" : "")</div></td>
              <td data-label="link">\(linkCell(peer.link))</td>
              <td data-label="load">\(meter(peer.load.loadPercent))<div class="muted small">\(sampled)</div></td>
              <td data-label="sessions">\(meter(peer.load.userloadPercent))</td>
              <td data-label="recent">\(sparkline(peer.history))</td>
              <td data-label="balancer">\(verdict(peer))</td>
              <td data-label="queued">\(peer.delayed == 0 ? "0" : "<strong>\(peer.delayed)</strong> delayed")</td>
            </tr>
            """
    }

    private func linkCell(_ link: HealthDocument.Link) -> String {
        var details = ["since \(time(link.since)) (\(ago(link.since)))"]
        // A round trip is a figure of a live link: a link in backoff has none now.
        if link.state == .up {
            if let rtt = link.rttMilliseconds { details.append(String(format: "%.2f ms", rtt)) }
            if let tls = link.tls { details.append(htmlEscaped(tls)) }
        } else if link.attempts > 0 {
            details.append("\(link.attempts) failed attempt\(link.attempts == 1 ? "" : "s")")
        }
        var cell = "<span class=\"state \(link.state.rawValue)\">\(link.state.rawValue.replacingOccurrences(of: "_", with: " "))</span><div class=\"muted small\">\(details.joined(separator: " · "))</div>"
        if let error = link.lastError, link.state != .up { cell += "<div class=\"error\">\(htmlEscaped(error))</div>" }
        return cell
    }

    private func verdict(_ peer: HealthDocument.Peer) -> String {
        var lines: [String] = []
        if !peer.spare && !peer.backup {
            lines.append("<span class=\"muted\">not a spare</span>")
        } else if peer.eligible {
            lines.append("<span class=\"eligible\">eligible</span> · predicted \(percent(peer.load.predictedPercent))")
        } else {
            lines.append("<span class=\"excluded\">excluded</span>: \(htmlEscaped(peer.excludedBecause ?? "not eligible"))")
        }
        if peer.spare || peer.backup, let share = peer.slowStartShare, share < 1 {
            lines.append("<span class=\"slow\">slow start: \(Int((share * 100).rounded())) % of its share</span>")
        }
        if peer.draining {
            let since = (peer.drainSince.map { " since \(time($0))" } ?? "") + (peer.drainedBy.map { " by \(htmlEscaped($0))" } ?? "")
                + (peer.drainOrigin.map { " on \(htmlEscaped($0))" } ?? "")
            lines.append("<span class=\"drain\">drained\(since)</span>\(peer.drainReason.map { ": \(htmlEscaped($0))" } ?? "")")
        }
        return lines.joined(separator: "<br>")
    }

    private func legend() -> String {
        """
        <section aria-label="How to read this page" class="legend small">
          <h2>How to read this page</h2>
          <ul>
            <li>Bars: <span class="swatch fill"></span> blue below readmit_load (\(percent(thresholds.readmitLoad))) · <span class="swatch high"></span> amber from readmit_load to max_load · <span class="swatch over"></span> red at or above max_load (\(percent(thresholds.maxLoad))): no new logins. A bar stretches past 100 % when a server is overloaded.</li>
            <li>Marks on the bars: <span class="swatch mark-max"></span> max_load (red), <span class="swatch mark-readmit"></span> readmit_load (grey): an excluded spare takes logins again once below it.</li>
            <li>Link states: <span class="state up">up</span> (green) · <span class="state backoff">connecting, handshaking, backoff</span> (amber) · <span class="state given_up">given up</span> (red; <code>balancerd ctl reconnect</code> retries).</li>
            <li>Recent: effective load \(sparkSpan()), oldest on the left; the red line is max_load.</li>
            <li>All times are UTC.</li>
          </ul>
        </section>
        """
    }

    private func decisionList() -> String {
        let lines = DecisionGroup.fold(decisions.decisions).prefix(Self.decisionLines).map { group in
            let span = group.count > 1 ? " <span class=\"muted\">(×\(group.count) since \(time(group.firstTime)))</span>" : ""
            let kind = (group.backup ? " (backup)" : "") + (group.returning ? " (returning)" : "")
            return "<li><span class=\"when\">\(time(group.time))</span> → <strong>\(htmlEscaped(group.target))</strong>\(kind)\(span): \(htmlEscaped(group.reason))</li>"
        }
        return """
            <section aria-label="Recent decisions">
              <h2>Recent decisions <a class="muted small" href="/decisions">JSON</a></h2>
              \(lines.isEmpty ? "<p class=\"muted\">No login decided yet.</p>" : "<ol class=\"decisions\">\n\(lines.joined(separator: "\n"))\n</ol>")
            </section>
            """
    }

    private static func statusMeaning(_ status: HealthDocument.Status) -> String {
        switch status {
        case .ok: "every link is up and logins have a target"
        case .degraded: "some peer link is not up"
        case .critical: "no server can take a new login: /login answers 503"
        }
    }
}
