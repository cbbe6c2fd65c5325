import Foundation
import Logging
import Lonc
import NIOCore
import NIOPosix

/// What the control socket can ask the daemon to do.
protocol ControlActions: Sendable {
    /// The /health document as one line of JSON.
    func statusJSON() -> String
    /// Drains `id` at the request of `operatorName` (nil: not said); the reply line.
    func drain(_ id: String, reason: String, by operatorName: String?) async -> String
    /// Undrains `id` at the request of `operatorName`; the reply line.
    func undrain(_ id: String, by operatorName: String?) async -> String
    /// Retries one link (or all); the reply line.
    func reconnect(_ id: String?) -> String
    /// Reloads the config and hosts table; the reply line.
    func reload() async -> String
}

/// `<socket_dir>/control` (mode 0600): one command a line, one reply a line.
///
///     status | drain <id> [reason…] | undrain <id> | reconnect [<id>] | reload
///
/// A line may start with `by=<user>`: who asks (`balancerd ctl` sends its
/// user, or the one behind sudo), kept with a drain and shown on /status.
final class ControlServer: Sendable {
    let path: String
    private let actions: any ControlActions
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = ListeningChannel()

    init(socketDirectory: String, actions: any ControlActions, group: any EventLoopGroup, logger: Logger) {
        path = socketDirectory + "/" + HostsTable.controlSocketName
        self.actions = actions
        self.group = group
        self.logger = logger
    }

    /// Listens, private to this user (0600); a stale socket file from a killed run is replaced.
    func start() async throws {
        let actions = actions
        let channel = try await UnixSocketListener.bind(path: path, mode: 0o600, maxLine: 4096, group: group) {
            ControlConnectionHandler(actions: actions)
        }
        self.channel.set(channel)
        logger.info("control socket listening", metadata: ["path": "\(path)"])
    }

    func stop() async {
        await channel.close()
        unlink(path)
    }
}

/// Reads one command a line and answers it.
final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = String

    private let actions: any ControlActions

    init(actions: any ControlActions) { self.actions = actions }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let words = unwrapInboundIn(data).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let channel = context.channel
        let actions = actions
        // Reload is async; answer off the event loop, then write from it.
        channel.eventLoop.makeFutureWithTask { await Self.answer(words, actions: actions) }.whenSuccess { reply in
            channel.writeAndFlush(reply, promise: nil)
        }
    }

    static func answer(_ line: [String], actions: any ControlActions) async -> String {
        var words = line
        var operatorName: String?
        if let first = words.first, first.hasPrefix("by=") {
            operatorName = String(first.dropFirst(3)).nilIfEmpty
            words.removeFirst()
        }
        switch (words.first, words.count) {
        case ("status", 1): return actions.statusJSON()
        case ("drain", 2...): return await actions.drain(words[1], reason: words.dropFirst(2).joined(separator: " "), by: operatorName)
        case ("undrain", 2): return await actions.undrain(words[1], by: operatorName)
        case ("reconnect", 1): return actions.reconnect(nil)
        case ("reconnect", 2): return actions.reconnect(words[1])
        case ("reload", 1): return await actions.reload()
        default: return "error: unknown command '\(words.joined(separator: " "))' (status, drain <id> [reason], undrain <id>, reconnect [<id>], reload)"
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.writeAndFlush(wrapOutboundOut("error: \(error)"), promise: nil)
        context.close(promise: nil)
    }
}

public struct ControlError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// nil for the empty string.
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
