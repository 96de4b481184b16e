/// Unguessable names (liveness challenges, console sessions and their CSRF tokens): random bits
/// from the system's cryptographic source, as lower-case hex, valid in a URL path, a cookie and
/// a header.
public enum RandomToken {
    /// `bits` random bits (a multiple of 64) as `bits / 4` hex digits.
    public static func hex(bits: Int) -> String {
        var random = SystemRandomNumberGenerator()
        return (0..<bits / 64).map { _ in String(format: "%016llx", random.next() as UInt64) }.joined()
    }
}
