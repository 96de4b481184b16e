import NetraImaging
import NetraStore
import NetraVision

/// Why a use case could not answer. Each surface turns the case into its own form (an HTTP
/// status with a JSON body, a CLI exit code with one line); the messages are written for
/// people and never hold keys, SQL or image bytes.
public enum IdentityError: Error, Sendable, CustomStringConvertible {
    /// An image (named by its field or file) shows no face where one is needed.
    case noFace(in: String)
    /// A name given to find a subject belongs to several subjects.
    case ambiguousName(String, count: Int)
    /// The subject or face named does not exist (also: a face of another subject).
    case notFound(String)
    /// No collection has this name (or id).
    case collectionNotFound(String)
    /// The caller is bound to another collection than the one it named.
    case collectionNotAllowed(String)
    /// The image was refused by the enrollment rules.
    case enrollmentRejected(EnrollmentError)
    /// A passed liveness check was needed and not presented, or not of this person.
    case liveness(LivenessError)
    case vision(VisionError)
    case store(StoreError)

    public var description: String {
        switch self {
        case let .noFace(source): "no face found in \(source)"
        case let .ambiguousName(name, count): "\(count) subjects are named \(name); use the subject id"
        case let .notFound(what): what
        case let .collectionNotFound(name): "collection \(name) does not exist"
        case let .collectionNotAllowed(name): "this caller is bound to another collection than \(name)"
        case let .enrollmentRejected(error): error.description
        case let .liveness(error): error.description
        case let .vision(error): "\(error)"
        case let .store(error): "\(error)"
        }
    }

    /// Store refusals that name a missing subject or face become `notFound`.
    init(_ error: StoreError) {
        switch error {
        case .subjectNotFound, .faceNotFound: self = .notFound(error.description)
        case let .ambiguousName(name, count): self = .ambiguousName(name, count: count)
        case let .collectionNotFound(name): self = .collectionNotFound(name)
        default: self = .store(error)
        }
    }
}

/// Runs a store call, turning its refusals into `IdentityError`s.
func storeCall<T>(_ body: () throws(StoreError) -> T) throws(IdentityError) -> T {
    do {
        return try body()
    } catch {
        throw IdentityError(error)
    }
}
