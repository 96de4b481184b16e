import NetraDescriptor
import NetraImaging
import NetraStore
import NetraVision

/// The rules an enrollment image must pass.
public struct EnrollmentPolicy: Sendable, Equatable {
    /// Smallest accepted face box side, in pixels between the box edges.
    public var minFaceSize: Int
    /// Smallest accepted detector confidence (see `FaceDetection.confidence`).
    public var minConfidence: Double
    /// A new face must reach this similarity to at least one of the subject's faces.
    public var matchThreshold: Float
    /// A new face this similar to another subject is flagged as a possible duplicate person.
    public var duplicateThreshold: Float

    public init(minFaceSize: Int = 80, minConfidence: Double = 0.5, matchThreshold: Float = FaceComparison.defaultThreshold,
                duplicateThreshold: Float = FaceComparison.defaultThreshold) {
        self.minFaceSize = minFaceSize
        self.minConfidence = minConfidence
        self.matchThreshold = matchThreshold
        self.duplicateThreshold = duplicateThreshold
    }
}

/// A stored enrollment.
public struct Enrollment: Sendable {
    public let face: StoredFace
    /// Where the enrolled face was found in the image.
    public let detection: FaceDetection
    /// Other subjects this face resembles at or above `duplicateThreshold`, best first.
    public let similarSubjects: [IndexCandidate]
    /// Best similarity to the subject's earlier faces, if it had any.
    public let similarityToSubject: Float?
}

/// Why an image was not enrolled.
public enum EnrollmentError: Error, Equatable, Sendable, CustomStringConvertible {
    case noFace
    case multipleFaces(Int)
    case faceTooSmall(width: Int, height: Int, minimum: Int)
    case lowConfidence(Double, minimum: Double)
    case doesNotMatchSubject(similarity: Float, threshold: Float)
    /// The enrollment needed a passed liveness check of this person and did not have one.
    case liveness(LivenessError)
    case vision(VisionError)
    case store(StoreError)

    /// A short machine-readable reason (metrics labels, JSON).
    public var reason: String {
        switch self {
        case .noFace: "no_face"
        case .multipleFaces: "multiple_faces"
        case .faceTooSmall: "face_too_small"
        case .lowConfidence: "low_confidence"
        case .doesNotMatchSubject: "does_not_match_subject"
        case .liveness: "liveness"
        case .vision: "vision_error"
        case .store: "store_error"
        }
    }

    public var description: String {
        switch self {
        case .noFace: "no face found in the image"
        case let .multipleFaces(count): "the image shows \(count) faces; enrollment needs exactly one (or ask for the largest)"
        case let .faceTooSmall(width, height, minimum): "the face is \(width) x \(height) pixels, the minimum is \(minimum)"
        case let .lowConfidence(confidence, minimum):
            "the detector's confidence \(String(format: "%.2f", confidence)) is below the minimum \(minimum)"
        case let .doesNotMatchSubject(similarity, threshold):
            "the face does not look like this subject (similarity \(String(format: "%.3f", similarity)) < \(threshold)); force to enroll anyway"
        case let .liveness(error): error.description
        case let .vision(error): "\(error)"
        case let .store(error): "\(error)"
        }
    }
}

/// Enrolls faces from images under the `EnrollmentPolicy`: the quality gate (size,
/// confidence), the guard against a face that does not look like its subject, and the warning
/// about look-alikes among the other subjects, all within one collection.
public struct Enroller: Sendable {
    public let finder: FaceFinder
    public let store: any IdentityStore
    public var policy: EnrollmentPolicy
    /// The collection subjects are found and created in.
    public let collectionID: Int64
    /// A passed liveness check each enrolled face must be the person of (`nil`: none needed).
    public let liveness: LivenessRequirement?

    public init(finder: FaceFinder, store: any IdentityStore, policy: EnrollmentPolicy = EnrollmentPolicy(), collectionID: Int64,
                liveness: LivenessRequirement? = nil) {
        self.finder = finder
        self.store = store
        self.policy = policy
        self.collectionID = collectionID
        self.liveness = liveness
    }

    /// What an enrollment stored.
    public struct Result: Sendable {
        /// The subject, with the new face counted.
        public let subject: Subject
        public let enrollment: Enrollment
    }

    /// The look-alikes of an enrollment with their names, for a surface that prints them. The
    /// face is already stored: a name that cannot be read is left empty, not turned into a failure.
    public func namedSimilarSubjects(of enrollment: Enrollment) -> [CandidateJSON] {
        enrollment.similarSubjects.map { candidate in
            (try? CandidateJSON(candidate, store: store)) ?? CandidateJSON(candidate, name: "")
        }
    }

    /// Enrolls the one face of `image` for the subject `choice` names. A subject named for the
    /// first time is created only together with its first accepted face (in one transaction),
    /// so a refused image leaves no empty subject and concurrent enrollments under one new name
    /// make one subject. Every attempt is audited: a refused one with its reason, a forced one
    /// past the does-not-match guard with the similarity it overrode.
    ///
    /// - Parameters:
    ///   - force: enroll even when the face does not look like the subject's earlier faces.
    ///   - largestFace: with several faces, take the face of the image (`FaceChoice.largest`)
    ///     instead of refusing.
    public func enroll(_ image: RGBImage, subject choice: SubjectChoice, force: Bool = false,
                       largestFace: Bool = false) throws(IdentityError) -> Result {
        let existing = try SubjectDirectory(store: store, collectionID: collectionID).find(choice)
        return try enroll(faceToEnroll(in: image, largestFace: largestFace), of: image, existing: existing, subject: choice, force: force)
    }

    /// The face each image would be enrolled with (as `enroll` finds it), or why there is none:
    /// detected one image at a time, described all together (their chips share the embedder's
    /// forward passes), for bulk enrollment of many photos (`netra enroll --dir`).
    public func facesToEnroll(in images: [RGBImage], largestFace: Bool = false) -> [Swift.Result<AnalyzedFace, EnrollmentError>] {
        let chosen = images.map { image in Swift.Result { () throws(EnrollmentError) in try chosenFace(in: image, largestFace: largestFace) } }
        let found = chosen.enumerated().compactMap { index, result in (try? result.get()).map { ($0, images[index]) } }
        guard let described = try? finder.describe(found) else {
            return chosen.enumerated().map { index, result in result.flatMap { describe($0, in: images[index]) } }
        }
        var next = described.makeIterator()
        return chosen.map { result in result.map { _ in next.next()! } }
    }

    /// Enrolls a face `facesToEnroll` found in `image`, for the subject `choice` names, exactly
    /// as `enroll(_:subject:force:largestFace:)` enrolls the face it finds itself.
    public func enroll(_ face: Swift.Result<AnalyzedFace, EnrollmentError>, of image: RGBImage, subject choice: SubjectChoice,
                       force: Bool = false) throws(IdentityError) -> Result {
        let existing = try SubjectDirectory(store: store, collectionID: collectionID).find(choice)
        return try enroll(face, of: image, existing: existing, subject: choice, force: force)
    }

    private func enroll(_ face: Swift.Result<AnalyzedFace, EnrollmentError>, of image: RGBImage, existing: Subject?,
                        subject choice: SubjectChoice, force: Bool) throws(IdentityError) -> Result {
        let enrollment: Enrollment
        var subject: Subject
        do {
            let checked = try check(face, in: image, subjectID: existing?.id, force: force)
            if let existing {
                enrollment = try save(checked, subjectID: existing.id)
                subject = existing
                subject.faceCount += 1
            } else {
                guard case let .named(name) = choice else { preconditionFailure("an id always names an existing subject") }
                (subject, enrollment) = try save(checked, subjectNamed: name)
            }
        } catch {
            IdentityMetrics.rejectedEnrollment(reason: error.reason)
            if case .store = error {} else {
                try? store.recordEvent(action: "enroll", subjectID: existing?.id, result: "rejected", detail: error.reason)
            }
            switch error {
            case let .store(storeError): throw IdentityError(storeError)
            case let .vision(visionError): throw .vision(visionError)
            case let .liveness(livenessError): throw .liveness(livenessError)
            default: throw .enrollmentRejected(error)
            }
        }
        IdentityMetrics.acceptedEnrollment()
        auditIfForced(enrollment, subjectID: subject.id)
        return Result(subject: subject, enrollment: enrollment)
    }

    /// Detects the one face in `image`, checks it and stores it for `subjectID` (a subject of
    /// the enroller's collection); returns once durable.
    public func enroll(_ image: RGBImage, subjectID: Int64, force: Bool = false,
                       largestFace: Bool = false) throws(EnrollmentError) -> Enrollment {
        do throws(StoreError) {
            guard try store.subject(id: subjectID)?.collectionID == collectionID else { throw .subjectNotFound(subjectID) }
        } catch {
            throw .store(error)
        }
        let enrollment = try save(try check(faceToEnroll(in: image, largestFace: largestFace), in: image, subjectID: subjectID, force: force),
                                  subjectID: subjectID)
        auditIfForced(enrollment, subjectID: subjectID)
        return enrollment
    }

    /// Records that `enrollment` went past the does-not-match guard by force. The face and its
    /// own audit entry are already committed, so a failure here fails nothing.
    private func auditIfForced(_ enrollment: Enrollment, subjectID: Int64) {
        guard let similarity = enrollment.similarityToSubject, similarity < policy.matchThreshold else { return }
        try? store.recordEvent(action: "enroll", subjectID: subjectID, result: "forced",
                               detail: "face \(enrollment.face.id): similarity \(String(format: "%.3f", similarity)) below \(policy.matchThreshold)")
    }

    /// A face that passed the enrollment rules, ready to store.
    private struct CheckedFace {
        let face: AnalyzedFace
        let quality: FaceQuality
        let similarSubjects: [IndexCandidate]
        let similarityToSubject: Float?
    }

    /// The rules: one face (or the largest), large and confident enough, like the subject's
    /// earlier faces (unless forced); other subjects it resembles are noted.
    private func check(_ found: Swift.Result<AnalyzedFace, EnrollmentError>, in image: RGBImage, subjectID: Int64?,
                       force: Bool) throws(EnrollmentError) -> CheckedFace {
        let face = try found.get()
        let box = ImageBox(face.detection.rect, in: image)
        guard min(box.width, box.height) >= policy.minFaceSize else {
            throw .faceTooSmall(width: box.width, height: box.height, minimum: policy.minFaceSize)
        }
        guard face.detection.confidence >= policy.minConfidence else {
            throw .lowConfidence(face.detection.confidence, minimum: policy.minConfidence)
        }
        do {
            try liveness?.check(face.descriptor)
        } catch {
            throw .liveness(error)
        }
        let index = store.index
        let earlier = subjectID.map { index.faceIDs(ofSubject: $0, in: collectionID).compactMap { index.descriptor(faceID: $0) } } ?? []
        let similarity = earlier.map { FaceDescriptor(values: $0).similarity(to: face.descriptor) }.max()
        if let similarity, similarity < policy.matchThreshold, !force {
            throw .doesNotMatchSubject(similarity: similarity, threshold: policy.matchThreshold)
        }
        let similarSubjects = index.search(face.descriptor.values, in: collectionID, topK: 4,
                                           maxDistance: FaceDescriptor.distance(forSimilarity: policy.duplicateThreshold))
            .filter { $0.subjectID != subjectID }
        return CheckedFace(face: face, quality: FaceQuality(width: box.width, height: box.height, detectorConfidence: face.detection.confidence),
                           similarSubjects: similarSubjects, similarityToSubject: similarity)
    }

    private func save(_ checked: CheckedFace, subjectID: Int64) throws(EnrollmentError) -> Enrollment {
        do {
            let stored = try store.addFace(subjectID: subjectID, descriptor: checked.face.descriptor, quality: checked.quality)
            return Enrollment(face: stored, detection: checked.face.detection, similarSubjects: checked.similarSubjects,
                              similarityToSubject: checked.similarityToSubject)
        } catch {
            throw .store(error)
        }
    }

    private func save(_ checked: CheckedFace, subjectNamed name: String) throws(EnrollmentError) -> (Subject, Enrollment) {
        do {
            let (subject, stored) = try store.addFace(toSubjectNamed: name, in: collectionID, descriptor: checked.face.descriptor, quality: checked.quality)
            return (subject, Enrollment(face: stored, detection: checked.face.detection,
                                        similarSubjects: checked.similarSubjects.filter { $0.subjectID != subject.id },
                                        similarityToSubject: checked.similarityToSubject))
        } catch {
            throw .store(error)
        }
    }

    /// The one face of `image` (or its largest), described, or why there is none.
    private func faceToEnroll(in image: RGBImage, largestFace: Bool) -> Swift.Result<AnalyzedFace, EnrollmentError> {
        Swift.Result { () throws(EnrollmentError) in try chosenFace(in: image, largestFace: largestFace) }.flatMap { describe($0, in: image) }
    }

    /// The detection an enrollment of `image` uses: its one face, or its largest with `largestFace`.
    private func chosenFace(in image: RGBImage, largestFace: Bool) throws(EnrollmentError) -> FaceDetection {
        let detections: [FaceDetection]
        do {
            detections = try finder.detections(in: image)
        } catch {
            throw Self.enrollmentError(error)
        }
        guard detections.count <= 1 || largestFace else { throw .multipleFaces(detections.count) }
        guard let chosen = FaceChoice.largest.pick(from: detections, in: image) else { throw .noFace }
        return chosen
    }

    private func describe(_ detection: FaceDetection, in image: RGBImage) -> Swift.Result<AnalyzedFace, EnrollmentError> {
        Swift.Result { () throws(IdentityError) in try finder.describe(detection, in: image) }.mapError(Self.enrollmentError)
    }

    /// A vision failure as itself; anything else of finding the face as "no face".
    private static func enrollmentError(_ error: IdentityError) -> EnrollmentError {
        if case let .vision(error) = error { return .vision(error) }
        return .noFace
    }
}
