/// `<socket_dir>/control`, for `balancerd ctl`.
struct ControlPart: DaemonPart {
    let server: ControlServer

    func start() async throws { try await server.start() }

    func stop() async { await server.stop() }
}
