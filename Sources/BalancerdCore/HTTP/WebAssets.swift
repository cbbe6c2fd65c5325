import Foundation

/// The status page's static files (the page itself is rendered by `StatusPage`): embedded in the binary at build time (`Web/`),
/// or read from a folder on every request with `--web-root` (for development).
public struct WebAssets: Sendable {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var contentType: String
    }

    private let embedded: [String: [UInt8]]
    private let root: String?

    /// The embedded files, or `root` when given.
    public init(root: String? = nil) {
        self.root = root
        self.embedded = [
            "style.css": PackageResources.style_css,
            "app.js": PackageResources.app_js,
            "openapi.yaml": PackageResources.openapi_yaml,
        ]
    }

    func has(_ name: String) -> Bool { embedded[name] != nil }

    /// The file, if it is one of the page's; names outside that list are never read.
    func asset(named name: String) -> Asset? {
        guard let bytes = embedded[name] else { return nil }
        let type = Self.contentType(of: name)
        if let root, let data = FileManager.default.contents(atPath: root + "/" + name) {
            return Asset(bytes: Array(data), contentType: type)
        }
        return Asset(bytes: bytes, contentType: type)
    }

    private static func contentType(of name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".yaml") { return "application/yaml" }
        return "application/octet-stream"
    }
}
