import Lonc

/// The config and hosts table in force: the ones loaded at start, replaced by
/// each accepted reload. Readers get a consistent pair with one lock.
package final class ConfigStore: Sendable {
    package struct Current: Sendable {
        package var config: DaemonConfig
        package var hosts: HostsTable
    }

    private let state: Locked<Current>

    init(config: DaemonConfig, hosts: HostsTable) {
        state = Locked(Current(config: config, hosts: hosts))
    }

    package var current: Current { state.withLock { $0 } }

    func replace(config: DaemonConfig, hosts: HostsTable) {
        state.withLock { $0 = Current(config: config, hosts: hosts) }
    }
}
