import NIOCore

/// Where the reply to one request on a link goes.
///
/// A caller waiting on one line gets a promise; the poller's batches get a
/// plain callback per line (`request(_:eachReply:)`), so a poll of 1,000 peers
/// a second makes no promise, no future and no callback list.
enum ReplySink {
    /// A keepalive `ping`: its reply only proves the link alive.
    case keepalive
    /// One caller waiting on a promise.
    case promise(EventLoopPromise<String>)
    /// Line `index` of a batch whose replies are handed over one by one, as they come.
    case batch(index: Int, deliver: (_ index: Int, _ reply: String) -> Void)

    /// Hands `reply` to whoever waits for it.
    func deliver(_ reply: String) {
        switch self {
        case .keepalive: break
        case .promise(let promise): promise.succeed(reply)
        case .batch(let index, let deliver): deliver(index, reply)
        }
    }

    /// Whether someone waits for the reply (a keepalive's loss is no caller's).
    var hasCaller: Bool {
        if case .keepalive = self { return false }
        return true
    }
}
