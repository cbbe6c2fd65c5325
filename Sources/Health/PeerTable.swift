import Lonc
import NIOCore

/// The poller's peers as a value: each peer's health in hosts-table order,
/// its recent samples, and which peers changed since the last update was
/// taken. Every event costs O(1) (a dictionary lookup and an array slot), so
/// bringing N links up costs O(N), not O(N²); taking the changes costs
/// O(changed). Only `replace` (start, reload) looks at every peer.
///
/// A change hands out every sample recorded since the peer was last handed
/// out, not only its latest, so a listener folding samples in order (the
/// balancer's readmit latch) misses none that a newer one replaced within
/// one publish window.
///
/// `Link` is whatever the poller asks (a `PeerRequesting`); the table never calls it.
struct PeerTable<Link: Sendable>: Sendable {
    struct Entry: Sendable {
        var link: Link
        var history = CircularBuffer<LoadSample>()
        /// The link was up when last looked at: an up it was not, is a link coming up.
        var wasUp = false
        /// To be polled once out of turn as soon as polling runs (the link came up before it did).
        var pollNow = false
        /// The samples recorded since the peer was last handed out by `takeChanges`, oldest first
        /// (at most `unpublishedLimit`); emptied keeping its capacity, so a peer costs no allocation per sample.
        var unpublished: [LoadSample] = []
    }

    /// At most this many samples of one peer wait for the next update; more would need
    /// that many polls answered within one publish window (50 ms), and the oldest are dropped.
    static var unpublishedLimit: Int { 64 }

    /// Every peer, in hosts-table order (a snapshot shares this storage).
    private(set) var peers: [PeerHealth] = []
    /// Where each peer is in `peers` and `entries`.
    private(set) var index: [String: Int] = [:]
    private var entries: [Entry] = []
    /// Slots changed since `takeChanges`.
    private var changed = Set<Int>()
    /// The set of peers itself changed since `takeChanges`: listeners must read everything.
    private var reshaped = true

    /// True when `takeChanges` has something to give.
    var hasChanges: Bool { reshaped || !changed.isEmpty }

    /// The link of peer `id`.
    func link(_ id: String) -> Link? { index[id].map { entries[$0].link } }

    /// The recent samples of peer `id`, oldest first.
    func history(of id: String) -> [LoadSample] { index[id].map { Array(entries[$0].history) } ?? [] }

    /// Every peer's link, in order.
    var links: [Link] { entries.map(\.link) }

    /// Takes a new set of peers (start, reload): peers that stay keep their
    /// sample, history and counters (with the new link); new ones start with
    /// `status`. Returns the ids that are new. The only O(all) operation.
    mutating func replace(with peers: [(id: String, link: Link, status: LinkStatus)]) -> [String] {
        var newPeers: [PeerHealth] = []
        var newEntries: [Entry] = []
        var newIndex: [String: Int] = [:]
        var added: [String] = []
        for (id, link, status) in peers where newIndex[id] == nil {
            newIndex[id] = newPeers.count
            if let old = index[id] {
                var entry = entries[old]
                entry.link = link
                newEntries.append(entry)
                newPeers.append(self.peers[old])
            } else {
                newEntries.append(Entry(link: link))
                newPeers.append(PeerHealth(id: id, link: status, latest: nil))
                added.append(id)
            }
        }
        (self.peers, entries, index) = (newPeers, newEntries, newIndex)
        changed.removeAll()
        reshaped = true
        return added
    }

    /// A link published a new status. Returns true when it has just come up
    /// (it is then marked to be polled at once; `polling` false keeps that
    /// mark for `takePollNow` instead, for when polling starts).
    mutating func noteLink(_ status: LinkStatus, polling: Bool) -> Bool {
        guard let slot = index[status.peerID] else { return false }
        if peers[slot].link != status {
            peers[slot].link = status
            changed.insert(slot)
        }
        let isUp = status.state == .up
        let cameUp = isUp && !entries[slot].wasUp
        entries[slot].wasUp = isUp
        if cameUp, !polling { entries[slot].pollNow = true }
        return cameUp
    }

    /// The links marked to be polled out of turn; the marks are cleared.
    mutating func takePollNow() -> [Link] {
        var links: [Link] = []
        for slot in entries.indices where entries[slot].pollNow {
            entries[slot].pollNow = false
            links.append(entries[slot].link)
        }
        return links
    }

    /// A poll of `id` gave `sample` (nil: nothing usable, the previous sample
    /// stays and goes stale on its own); `answered` false counts an unanswered poll.
    mutating func record(_ id: String, sample: LoadSample?, answered: Bool, historyLimit: Int) {
        guard let slot = index[id] else { return }
        if let sample {
            peers[slot].latest = sample
            entries[slot].history.append(sample, keepingAtMost: historyLimit)
            if entries[slot].unpublished.count >= Self.unpublishedLimit { entries[slot].unpublished.removeFirst() }
            entries[slot].unpublished.append(sample)
        }
        let unanswered = answered ? 0 : peers[slot].unansweredPolls + 1
        if sample != nil || peers[slot].unansweredPolls != unanswered {
            peers[slot].unansweredPolls = unanswered
            changed.insert(slot)
        }
    }

    /// The peers changed since the last call, in hosts-table order, each
    /// with its samples not yet handed out that its latest replaced; or nil
    /// when the set of peers changed (read them all); clears the marks.
    ///
    /// After nil, a peer's samples stay until its next change hands them out
    /// with the ones after: the snapshot read instead shows only each latest,
    /// and folding that one again later changes nothing for the balancer.
    mutating func takeChanges() -> [PeerChange]? {
        defer {
            changed.removeAll(keepingCapacity: true)
            reshaped = false
        }
        guard !reshaped else { return nil }
        var changes: [PeerChange] = []
        changes.reserveCapacity(changed.count)
        for slot in changed.sorted() {
            // The newest is `latest`; copied before emptying, so the peer's buffer stays its own.
            let superseded = entries[slot].unpublished.count > 1 ? Array(entries[slot].unpublished.dropLast()) : []
            entries[slot].unpublished.removeAll(keepingCapacity: true)
            changes.append(PeerChange(peer: peers[slot], superseded: superseded))
        }
        return changes
    }
}
