/// A tool could not do its job; the message says what to fix.
public struct ToolError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
