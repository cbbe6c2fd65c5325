import Health

/// Gives the balancer its inputs: every poller snapshot, and the latest one
/// again whenever the hosts table or the drains change.
struct RoutingFeed: Sendable {
    let routing: RoutingTable
    let store: ConfigStore
    let drains: DrainStore
    let poller: LoadPoller

    func feed(_ snapshot: HealthSnapshot) {
        routing.update(snapshot: snapshot, hosts: store.current.hosts, drains: drains.reasons)
    }

    /// The hosts table or a drain changed: decide again from the latest snapshot.
    func refresh() { feed(poller.snapshot) }
}
