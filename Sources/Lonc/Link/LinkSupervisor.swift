import Logging
import NIOCore

/// Keeps one `PeerLink` per hosts-table entry other than this server (the
/// seed's lonc parent, which kept a child per peer alive).
public final class LinkSupervisor: Sendable {
    /// This server's id: no link to itself.
    public let ownID: String
    private let settings: LinkSettings
    private let transport: any TransportSecurity
    private let group: any EventLoopGroup
    private let logger: Logger
    private let links = Locked<[String: PeerLink]>([:])
    private let order = Locked<[String]>([])
    private let listeners: [any LinkListener]
    /// Paces every link's attempts: at most `links.max_connecting` at once.
    public let pacer: ConnectionPacer

    /// Creates a supervisor; `listeners` are told of every change of every link it makes, in order per link.
    public init(
        ownID: String, settings: LinkSettings, transport: any TransportSecurity, group: any EventLoopGroup, logger: Logger,
        listeners: [any LinkListener] = []
    ) {
        self.ownID = ownID
        self.settings = settings
        self.transport = transport
        self.group = group
        self.logger = logger
        self.listeners = listeners
        self.pacer = ConnectionPacer(limit: settings.maxConnecting)
    }

    /// Brings the links in line with `hosts`: new peers get a link, removed ones
    /// are closed, and links whose address, port or hostname did not change stay up.
    public func update(hosts: HostsTable) async {
        let wanted = hosts.entries.filter { $0.id != ownID }
        var created: [PeerLink] = []
        let removed: [PeerLink] = links.withLock { links in
            var removed: [PeerLink] = []
            var next: [String: PeerLink] = [:]
            for entry in wanted {
                if let existing = links[entry.id], existing.host == entry {
                    next[entry.id] = existing
                } else {
                    if let existing = links[entry.id] { removed.append(existing) }
                    let link = PeerLink(
                        host: entry, settings: settings, transport: transport, eventLoop: group.next(), logger: logger, pacer: pacer, listeners: listeners)
                    next[entry.id] = link
                    created.append(link)
                }
            }
            for (id, link) in links where next[id] == nil { removed.append(link) }
            links = next
            return removed
        }
        order.withLock { $0 = wanted.map(\.id) }
        for link in removed {
            logger.info("closing link: peer removed or changed in the hosts table", metadata: ["peer": "\(link.peerID)"])
            await link.shutdown()
        }
        for link in created { link.start() }
    }

    /// The link to `id`, if it is a peer.
    public func link(for id: String) -> PeerLink? { links.withLock { $0[id] } }

    /// Every link, in hosts-table order.
    public var all: [PeerLink] {
        let order = order.withLock { $0 }
        return links.withLock { links in order.compactMap { links[$0] } }
    }

    /// Retries one link (or all with nil) that is backing off or given up.
    /// Returns false when `id` names no peer.
    @discardableResult
    public func retry(_ id: String? = nil) -> Bool {
        guard let id else {
            all.forEach { $0.retry() }
            return true
        }
        guard let link = link(for: id) else { return false }
        link.retry()
        return true
    }

    /// Closes every link, all at once: one at a time, 10,000 links took seconds of a bounded stop.
    public func shutdown() async {
        await withTaskGroup(of: Void.self) { group in
            for link in all { group.addTask { await link.shutdown() } }
        }
    }
}
