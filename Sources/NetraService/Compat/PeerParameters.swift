import Foundation
import Hummingbird

/// The parameters of a request to a compatible API, read as its peer's clients send them:
/// empty pairs skipped (the CompreFace SDK's `?&limit=0`), Python's `True`/`False`, form fields
/// beside the query (DeepStack accepts either). Each refusal is an `APIError` the route's
/// dialect renders in its peer's form.
struct PeerParameters: Sendable {
    private let values: [String: String]

    /// The query string's pairs, then `fields` (which win).
    init(query: String?, fields: [String: String] = [:]) {
        values = RequestForm.urlencodedPairs(query ?? "").merging(fields) { _, field in field }
    }

    init(_ request: Request, fields: [String: String] = [:]) {
        self.init(query: request.uri.query, fields: fields)
    }

    func string(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A boolean in any case (`true`, `True`, `1`, `false`...), `defaultValue` when absent.
    func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let text = string(name)?.lowercased() else { return defaultValue }
        switch text {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw APIError.badRequest("invalid_parameter", "'\(name)' must be true or false")
        }
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw APIError.badRequest("invalid_parameter", "'\(name)' must be a whole number") }
        return value
    }

    func number(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw APIError.badRequest("invalid_parameter", "'\(name)' must be a number") }
        return value
    }

    /// A comma-separated list, lower-cased, without empty items.
    func list(_ name: String) -> Set<String> {
        Set((string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
    }
}
