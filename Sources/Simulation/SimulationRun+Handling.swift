import Balancer

/// What each happening does to the run.
extension SimulationRun {
    mutating func handle(_ happening: Happening, at time: Double) {
        switch happening {
        case .login(let index):
            decide(logins[index], at: time)
        case .kernelUpdate(let server):
            servers[server].kernelUpdate(decay: decay)
            timeline.schedule(.kernelUpdate(server: server), at: time + scenario.kernel.updatePeriod)
        case .poll(let balancer, let slot, let epoch):
            guard epoch == epochs[balancer] else { return }
            timeline.schedule(.poll(balancer: balancer, server: slot, epoch: epoch), at: time + scenario.poll.interval)
            if linkUp[balancer][slot] { send(balancer, slot, at: time) }
        case .reply(let balancer, let slot, let epoch):
            guard epoch == epochs[balancer], linkUp[balancer][slot] else { return }
            sequence += 1
            let server = servers[slot]
            latest[balancer][slot] = LoadReading(load: server.loadPercent, userload: server.userLoadPercent, takenAt: time, sequence: sequence)
            unanswered[balancer][slot] = 0
            tell(balancer, about: slot, at: time)
        case .timeout(let balancer, let slot, let epoch):
            guard epoch == epochs[balancer], linkUp[balancer][slot] else { return }
            unanswered[balancer][slot] += 1
            tell(balancer, about: slot, at: time)
        case .linkUp(let balancer, let slot, let epoch):
            guard epoch == epochs[balancer], servers[slot].reachable, !linkUp[balancer][slot] else { return }
            linkUp[balancer][slot] = true
            unanswered[balancer][slot] = 0
            tell(balancer, about: slot, at: time)
            send(balancer, slot, at: time)
        case .ownSample(let balancer, let epoch):
            guard epoch == epochs[balancer], let own = ownIndex(balancer) else { return }
            sequence += 1
            let server = servers[own]
            pickers[balancer].observeOwn(
                LoadReading(load: server.loadPercent, userload: server.userLoadPercent, takenAt: time, sequence: sequence), now: time)
            timeline.schedule(.ownSample(balancer: balancer, epoch: epoch), at: time + scenario.poll.interval)
        case .sessionEnd(let server, let work, let counted, let boot):
            guard boot == servers[server].boot else { return }
            servers[server].work = max(0, servers[server].work - work)
            refresh(server, at: time)
            if counted { timeline.schedule(.sessionExpires(server: server, boot: boot), at: time + scenario.session.activeWindow) }
        case .sessionExpires(let server, let boot):
            guard boot == servers[server].boot else { return }
            servers[server].sessions = max(0, servers[server].sessions - 1)
            refresh(server, at: time)
        case .event(let index):
            begin(scenario.events[index], index: index, at: time)
        case .eventEnds(let index):
            end(scenario.events[index], at: time)
        case .record:
            series.times.append(time)
            for index in servers.indices { series.loads[index].append(servers[index].settled.map(Float.init) ?? .nan) }
            timeline.schedule(.record, at: time + recordStep)
        case .measureSpread:
            let loads = (0..<slots).compactMap { available[$0] ? servers[$0].settled : nil }
            if let high = loads.max(), let low = loads.min() { spread = high - low }
        }
    }

    mutating func decide(_ login: LoginArrival, at time: Double) {
        let balancer = login.balancer
        let own = ownIndex(balancer)
        let truth = Truth(settled: book.settled, available: available, own: own.flatMap { servers[$0].settled })
        switch pickers[balancer].route(now: time, truth: truth) {
        case .spare(let id):
            guard let slot = slotOf[id] else { return }
            redirects[slot] += 1
            land(login, on: slot, at: time)
        case .local:
            kept += 1
            guard let own else { return }
            if let load = servers[own].settled, load > scenario.policy.maxLoad + 1e-9, roomExists() { keptOverloaded += 1 }
            land(login, on: own, at: time)
        case .none:
            refused += 1
            // Before its first answer (a restart's first round trip) a balancer knows nothing to send to.
            if roomExists(), knowsASample(balancer, at: time) { refusedWithRoom += 1 }
        }
    }

    mutating func begin(_ event: ScenarioEvent, index: Int, at time: Double) {
        switch event.kind {
        case .reboot(let id, let down):
            guard let slot = slotOf[id] else { return }
            servers[slot].goDown()
            refresh(slot, at: time)
            setLinks(of: slot, up: false, at: time)
            timeline.schedule(.eventEnds(index: index), at: time + down)
        case .stopAnswering(let id, let duration):
            guard let slot = slotOf[id] else { return }
            servers[slot].answering = false
            refresh(slot, at: time)
            timeline.schedule(.eventEnds(index: index), at: time + duration)
        case .linkDown(let id, let duration):
            guard let slot = slotOf[id] else { return }
            servers[slot].reachable = false
            refresh(slot, at: time)
            setLinks(of: slot, up: false, at: time)
            timeline.schedule(.eventEnds(index: index), at: time + duration)
        case .drain(let id, let duration):
            guard let slot = slotOf[id] else { return }
            servers[slot].drained = true
            refresh(slot, at: time)
            tellEveryBalancer(about: slot, at: time)
            timeline.schedule(.eventEnds(index: index), at: time + duration)
        case .loadStep(let id, let load):
            guard let slot = slotOf[id] else { return }
            servers[slot].background = load / 100 * servers[slot].spec.loadLimit
            refresh(slot, at: time)
        case .restart(let balancer):
            guard epochs.indices.contains(balancer) else { return }
            epochs[balancer] += 1
            pickers[balancer] = makePicker(balancer, epochs[balancer])
            for slot in 0..<slots {
                linkUp[balancer][slot] = false
                latest[balancer][slot] = nil
                unanswered[balancer][slot] = 0
            }
            start(balancer, at: time)
        }
    }

    mutating func end(_ event: ScenarioEvent, at time: Double) {
        switch event.kind {
        case .reboot(let id, _):
            guard let slot = slotOf[id] else { return }
            servers[slot].bootUp()
            refresh(slot, at: time)
            setLinks(of: slot, up: true, at: time)
        case .stopAnswering(let id, _):
            guard let slot = slotOf[id] else { return }
            servers[slot].answering = true
            refresh(slot, at: time)
        case .linkDown(let id, _):
            guard let slot = slotOf[id] else { return }
            servers[slot].reachable = true
            refresh(slot, at: time)
            setLinks(of: slot, up: true, at: time)
        case .drain(let id, _):
            guard let slot = slotOf[id] else { return }
            servers[slot].drained = false
            refresh(slot, at: time)
            tellEveryBalancer(about: slot, at: time)
        case .loadStep, .restart:
            break
        }
    }
}
