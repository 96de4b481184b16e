import Hummingbird
import NetraIdentity
import NetraStore

// How the refusals of the use cases and of the store become HTTP answers, written once for
// every controller.

/// Runs a use case, answering its refusals in HTTP's terms. Failures of the models and the
/// store go on to `ErrorMiddleware`, which answers them (a 5xx is logged, its text withheld).
func identityCall<T>(_ body: () throws(IdentityError) -> T) throws -> T {
    do {
        return try body()
    } catch let .vision(error) {
        throw error
    } catch let .store(error) {
        throw error
    } catch {
        throw APIError(identityError: error)
    }
}

extension APIError {
    /// The HTTP form of a use case's refusal.
    init(identityError error: IdentityError) {
        switch error {
        case .noFace: self.init(.unprocessableContent, "no_face", error.description)
        case let .ambiguousName(name, count): self.init(.conflict, "ambiguous_name", "\(count) subjects are named \(name); use subject_id")
        case .notFound: self.init(.notFound, "not_found", error.description)
        case .collectionNotFound: self.init(.notFound, "collection_not_found", error.description)
        case .collectionNotAllowed:
            self.init(.forbidden, "collection_not_allowed", "this API key is bound to another collection; it acts only in its own")
        case let .enrollmentRejected(rejection):
            switch rejection {
            case .doesNotMatchSubject: self.init(.conflict, rejection.reason, rejection.description)
            default: self.init(.unprocessableContent, rejection.reason, rejection.description)
            }
        case let .liveness(livenessError): self.init(livenessError: livenessError)
        case .vision: self.init(.internalServerError, "internal_error", "the face models failed; see the server log")
        case let .store(storeError): self.init(storeError: storeError)
        }
    }

    /// The HTTP form of a liveness refusal (docs/console.md).
    init(livenessError error: LivenessError) {
        switch error {
        case .required: self.init(.forbidden, "liveness_required", error.description)
        case .notFound: self.init(.notFound, "challenge_not_found", error.description)
        case .used: self.init(.conflict, "challenge_used", error.description)
        case .expired: self.init(.gone, "challenge_expired", error.description)
        case .differentPerson: self.init(.unprocessableContent, "liveness_mismatch", error.description)
        }
    }
}

extension APIError {
    /// The HTTP form of a store refusal.
    init(storeError error: StoreError) {
        switch error {
        case .subjectNotFound, .faceNotFound: self.init(.notFound, "not_found", error.description)
        case .invalidName: self.init(.badRequest, "invalid_field", error.description)
        case .ambiguousName: self.init(.conflict, "ambiguous_name", error.description + "; use subject_id")
        case .invalidMetadata: self.init(.badRequest, "invalid_field", error.description)
        case .collectionNotFound: self.init(.notFound, "collection_not_found", error.description)
        case .collectionExists: self.init(.conflict, "collection_exists", error.description)
        case .invalidCollectionName, .subjectsInDifferentCollections: self.init(.badRequest, "invalid_field", error.description)
        case .collectionInUse: self.init(.conflict, "collection_in_use", error.description)
        // Conditions an operator fixes while reads go on: the store refuses writes, says why.
        case .storageFull: self.init(.serviceUnavailable, "storage_full", error.description, headers: [.retryAfter: "30"])
        case .readOnly: self.init(.serviceUnavailable, "store_read_only", error.description, headers: [.retryAfter: "30"])
        case .activeKeyUnavailable: self.init(.serviceUnavailable, "store_key_rotated", error.description, headers: [.retryAfter: "30"])
        case .storageFailure: self.init(.serviceUnavailable, "store_unavailable", error.description, headers: [.retryAfter: "30"])
        case .databaseReplaced: self.init(.serviceUnavailable, "store_replaced", error.description, headers: [.retryAfter: "30"])
        case .busy: self.init(.serviceUnavailable, "store_busy", error.description, headers: [.retryAfter: "1"])
        case .unreachable: self.init(.serviceUnavailable, "store_unreachable", error.description, headers: [.retryAfter: "5"])
        case .tamperedSubject: self.init(.internalServerError, "store_integrity", error.description)
        // The store's own failures are logged by ErrorMiddleware; their text (which may quote
        // SQLite) never reaches the client.
        default: self.init(.internalServerError, "store_error", "the identity store failed; see the server log")
        }
    }
}
