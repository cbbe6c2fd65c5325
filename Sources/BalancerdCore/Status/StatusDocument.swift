import Foundation

/// A JSON document the endpoint serves (`/health`, `/decisions`). The daemon
/// encodes it and tests decode the bytes into the same type. Field names are
/// the properties' names in snake_case (`redirectsTotal` is `redirects_total`,
/// docs/REFERENCE.md, "HTTP API"); a type lists `CodingKeys` only for the few
/// that are not (`self`, `uptime_s`, `rtt_ms`, `age_s`). Times are ISO-8601 UTC.
public protocol StatusDocument: Codable, Sendable {}

extension StatusDocument {
    /// Reads a document as the endpoint serves it.
    public init(json: Data) throws {
        self = try StatusDocumentCoding.decoder().decode(Self.self, from: json)
    }

    /// The document as the endpoint serves it.
    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Stable field order, so two documents diff cleanly; paths and URLs as written.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain value: encoding cannot fail, but an empty object beats a crash.
        return (try? Array(encoder.encode(self))) ?? Array("{}".utf8)
    }
}

/// How status documents are read: snake_case keys, ISO-8601 times.
public enum StatusDocumentCoding {
    /// A decoder for a document or any part of one.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

/// An optional field written as `null` when unknown, never left out and
/// never 0: `/health` shows an unknown load as `null`. (Synthesized `Codable`
/// would omit the key.)
@propertyWrapper
public struct Nullable<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A figure as the documents show it: three decimals at most.
func rounded(_ value: Double?) -> Double? { value.map { ($0 * 1000).rounded() / 1000 } }
