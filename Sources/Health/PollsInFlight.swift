import HeapModule
import NIOCore

/// The polls sent and not yet finished, each with the time it gives up: the
/// poller's own tick sweeps them (`expire(now:)`), so a poll costs no timer of
/// its own. At 10,000 peers polled every second, one NIO timer per poll meant
/// 10,000 more tasks pending in the loop's timer heap, each scheduled,
/// retained and fired; the sweep is a heap of plain values.
///
/// A poll is finished by its last reply (`answer`) or by its deadline
/// (`expire`), whichever comes first; whatever comes after is ignored, so a
/// late reply never finishes a poll twice. Replies that did not come in time
/// are nil, as with a timer per poll.
public struct PollsInFlight: Sendable {
    /// A finished poll: the peer and its replies in the order the lines were sent.
    public struct Finished: Sendable, Equatable {
        public var peerID: String
        public var replies: [String?]

        public init(peerID: String, replies: [String?]) {
            self.peerID = peerID
            self.replies = replies
        }
    }

    private struct Poll: Sendable {
        var peerID: String
        var replies: [String?]
        var missing: Int
    }

    private struct Deadline: Comparable, Sendable {
        var at: NIODeadline
        var token: UInt64

        static func < (lhs: Deadline, rhs: Deadline) -> Bool { (lhs.at, lhs.token) < (rhs.at, rhs.token) }
    }

    private var polls: [UInt64: Poll] = [:]
    /// One entry per poll started; an entry whose poll finished is dropped when it reaches the top.
    private var deadlines = Heap<Deadline>()
    private var lastToken: UInt64 = 0

    /// No poll in flight.
    public init() {}

    /// Polls in flight.
    public var count: Int { polls.count }

    /// Records a poll of `peerID` with `lines` requests that gives up at
    /// `deadline`; the token names it in `answer`.
    public mutating func start(_ peerID: String, lines: Int, deadline: NIODeadline) -> UInt64 {
        lastToken &+= 1
        polls[lastToken] = Poll(peerID: peerID, replies: Array(repeating: nil, count: lines), missing: lines)
        deadlines.insert(Deadline(at: deadline, token: lastToken))
        return lastToken
    }

    /// Reply number `index` of poll `token`. Returns the poll once its last
    /// reply is in; nil while some are missing, and for a poll already
    /// finished (a late reply) or an index it does not have.
    public mutating func answer(_ token: UInt64, index: Int, reply: String) -> Finished? {
        guard var poll = polls[token], poll.replies.indices.contains(index), poll.replies[index] == nil else { return nil }
        poll.replies[index] = reply
        poll.missing -= 1
        guard poll.missing == 0 else {
            polls[token] = poll
            return nil
        }
        polls[token] = nil
        return Finished(peerID: poll.peerID, replies: poll.replies)
    }

    /// The polls whose deadline is at or before `now`, oldest deadline first,
    /// with the replies that came (nil for the others); they are finished.
    public mutating func expire(now: NIODeadline) -> [Finished] {
        var expired: [Finished] = []
        while let top = deadlines.min, top.at <= now {
            deadlines.removeMin()
            guard let poll = polls.removeValue(forKey: top.token) else { continue }
            expired.append(Finished(peerID: poll.peerID, replies: poll.replies))
        }
        return expired
    }

    /// When the next poll in flight gives up, or nil with none in flight.
    public mutating func nextDeadline() -> NIODeadline? {
        while let top = deadlines.min, polls[top.token] == nil { deadlines.removeMin() }
        return deadlines.min?.at
    }
}
