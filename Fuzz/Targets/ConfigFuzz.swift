import BalancerdCore
import Foundation

/// Input: the text of a balancerd.yaml, loaded from a folder that holds a
/// hosts table (`hosts.tab`). What loads is usable; every refusal names the
/// config file or the hosts table it points to, with a message.
public enum ConfigFuzz {
    /// The folder the config is "in", with a hosts table: one per user, reused by
    /// every run (the table is the same each time, written atomically), so runs leave no litter.
    static let folder: String = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("balancerd-fuzz-config-\(getuid())").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let hosts = """
            msua1:msu:access:agrajag.lite.msu.edu:35.8.63.68
            msua2:msu:access:bistromath.lite.msu.edu:35.8.63.67
            lb1:demo:access:lb1.localhost:127.0.0.1:5701

            """
        try? hosts.write(toFile: folder + "/hosts.tab", atomically: true, encoding: .utf8)
        return folder
    }()

    static func run(_ bytes: [UInt8]) -> [String] {
        let path = folder + "/balancerd.yaml"
        let text = String(decoding: bytes, as: UTF8.self)
        var broken: [String] = []
        do {
            let config = try ConfigLoader(environment: [:]).load(text: text, path: path).config
            if config.http.threads < 1 || config.links.pipelineDepth < 1 || config.links.maxLine < 1 {
                broken.append("unusable sizes accepted: threads \(config.http.threads), depth \(config.links.pipelineDepth), max_line \(config.links.maxLine)")
            }
            if !(config.poll.interval > .zero) || !(config.links.connectTimeout > .zero) {
                broken.append("a zero interval or timeout accepted")
            }
            if config.balancer.readmitLoad > config.balancer.maxLoad { broken.append("readmit_load above max_load accepted") }
        } catch {
            if error.problems.isEmpty { broken.append("refused without a problem") }
            for problem in error.problems {
                if !(problem.location.hasPrefix(path) || problem.location.hasPrefix("/")) { broken.append("problem names no file: \(problem)") }
                if problem.message.isEmpty { broken.append("a problem without a message: \(problem)") }
            }
        }
        return broken
    }
}
