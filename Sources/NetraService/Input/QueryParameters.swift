import Hummingbird

extension Request {
    /// The whole-number query parameter `name` when it is given, refused with 400
    /// `invalid_parameter` when it is not a number in `range`.
    func integerQuery(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("invalid_parameter", "'\(name)' must be a whole number between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}
