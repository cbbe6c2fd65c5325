import Health

/// Gives the balancer its inputs: every poller update (only the peers that
/// changed), and the whole latest snapshot whenever the set of peers, the
/// hosts table or the drains change.
struct BalancerFeed: Sendable {
    let balancer: LoginBalancer
    let store: ConfigStore
    let drains: DrainStore
    let poller: LoadPoller

    func feed(_ update: HealthUpdate) {
        guard let changed = update.changed else { return refresh() }
        balancer.update(own: update.own, changed: changed, hosts: store.current.hosts, drains: drains.reasons)
    }

    /// The hosts table or a drain changed: decide again from the latest snapshot.
    func refresh() {
        balancer.update(snapshot: poller.snapshot, hosts: store.current.hosts, drains: drains.reasons)
    }
}
