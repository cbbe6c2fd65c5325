import Logging
import Lonc
import NIOCore

/// A poll's answers in, updates to the listeners out (the poller's other half,
/// `LoadPoller.swift`, decides when to poll).
extension LoadPoller {
    /// One poll's replies (nil: none in time) become the peer's new sample, or
    /// leave the old one to go stale; the listeners hear of it with the next update.
    func record(_ replies: [String?], from peerID: String) {
        let (loadReply, userReply) = (replies.first ?? nil, replies.dropFirst().first ?? nil)
        let loadPercent = loadReply.flatMap(WireNumber.parse)
        let userPercent = userReply.flatMap(WireNumber.parse)
        // Silence or con_lost on both is no answer: the peer is excluded now, not when its sample goes stale.
        let answered = [loadReply, userReply].contains { $0 != nil && $0 != WireReply.connectionLost }
        // A figure that did not arrive in time is not known to be unknown: a new sample needs both
        // replies. A reply that is not a number (the agent's `unknown`) does make that figure unknown.
        let missing = [loadReply, userReply].contains { $0 == nil || $0 == WireReply.connectionLost }
        let usable = !missing && (loadPercent != nil || userPercent != nil)
        if !usable {
            logger.debug("poll got no number", metadata: ["peer": "\(peerID)", "load": "\(loadReply ?? "timeout")", "userload": "\(userReply ?? "timeout")"])
        }
        let historyLimit = settings.history
        state.withLock { state in
            var sample: LoadSample?
            if usable {
                state.sequence &+= 1
                sample = LoadSample(loadPercent: loadPercent, userLoadPercent: userPercent, sequence: state.sequence)
            }
            // Nothing usable: the previous sample stays, and goes stale on its own.
            state.table.record(peerID, sample: sample, answered: answered, historyLimit: historyLimit)
        }
        requestPublish(soon: false)
    }

    // MARK: - Publishing

    /// Asks for an update: on the loop's next turn (`soon`), or within `publishDelay`.
    func requestPublish(soon: Bool) {
        let schedule: Bool = state.withLock { state in
            switch (state.publish, soon) {
            case (.soon, _), (.later, false): return false
            case (.none, _), (.later, true):
                state.publish = soon ? .soon : .later
                return true
            }
        }
        guard schedule else { return }
        if soon {
            loop.execute { self.publishIfDirty() }
        } else {
            loop.scheduleTask(in: TimeAmount(publishDelay)) { self.publishIfDirty() }
        }
    }

    /// Hands the listeners what changed since the last update, if anything did.
    func publishIfDirty() {
        let update: HealthUpdate? = state.withLock { state in
            state.publish = .none
            guard state.table.hasChanges || state.ownChanged else { return nil }
            state.generation &+= 1
            state.ownChanged = false
            return HealthUpdate(generation: state.generation, own: state.own, changed: state.table.takeChanges())
        }
        guard let update else { return }
        for listener in listeners.withLock({ $0 }) { listener(update) }
    }
}
