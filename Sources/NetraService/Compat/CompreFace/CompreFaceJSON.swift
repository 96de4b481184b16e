import NetraIdentity
import NetraImaging
import NetraVision

/// CompreFace's wire shapes (peer-apis.md §1): absent plugins give no key at all, similarities
/// and probabilities are rounded to 5 decimals, box coordinates are integers.
enum CompreFaceJSON {
    struct Box: Encodable {
        let probability: Double
        let xMin: Int, yMin: Int, xMax: Int, yMax: Int

        init(_ detection: FaceDetection, in image: RGBImage) {
            let box = ImageBox(detection.rect, in: image)
            probability = PeerScale.rounded(PeerScale.detectionProbability(confidence: detection.confidence))
            (xMin, yMin, xMax, yMax) = (box.left, box.top, box.right, box.bottom)
        }

        enum CodingKeys: String, CodingKey {
            case probability
            case xMin = "x_min", yMin = "y_min", xMax = "x_max", yMax = "y_max"
        }
    }

    struct SubjectMatch: Encodable {
        let subject: String
        let similarity: Double
    }

    /// One face of an answer; `subjects` only in recognize, `similarity` only in verify.
    struct Face: Encodable {
        let box: Box
        var landmarks: [[Int]]?
        var embedding: [Float]?
        var subjects: [SubjectMatch]?
        var similarity: Double?
        var executionTime: [String: Double]?

        enum CodingKeys: String, CodingKey {
            case box, landmarks, embedding, subjects, similarity
            case executionTime = "execution_time"
        }
    }

    /// recognize, detect and verify-against-an-example: `{"result": [...], "plugins_versions": {...}}`.
    struct Result: Encodable {
        let result: [Face]
        var pluginsVersions: [String: String]?

        enum CodingKeys: String, CodingKey {
            case result
            case pluginsVersions = "plugins_versions"
        }
    }

    /// verification/verify: one source face against the target's faces.
    struct Verification: Encodable {
        struct Item: Encodable {
            let sourceImageFace: Face
            let faceMatches: [Face]
            var pluginsVersions: [String: String]?

            enum CodingKeys: String, CodingKey {
                case sourceImageFace = "source_image_face", faceMatches = "face_matches", pluginsVersions = "plugins_versions"
            }
        }

        let result: [Item]
    }

    struct Example: Encodable {
        let imageID: String
        let subject: String

        enum CodingKeys: String, CodingKey {
            case subject
            case imageID = "image_id"
        }
    }

    struct ExamplePage: Encodable {
        let faces: [Example]
        let pageNumber: Int
        let pageSize: Int
        let totalPages: Int
        let totalElements: Int

        enum CodingKeys: String, CodingKey {
            case faces
            case pageNumber = "page_number", pageSize = "page_size", totalPages = "total_pages", totalElements = "total_elements"
        }
    }

    struct SubjectName: Encodable {
        let subject: String
    }

    struct SubjectList: Encodable {
        let subjects: [String]
    }

    struct Deleted: Encodable {
        let deleted: Int
    }

    struct Updated: Encodable {
        let updated = true
    }

    /// What NETRA's plugins are, for `status=true`.
    static let pluginsVersions = ["detector": "dlib.mmod_human_face_detector", "calculator": "dlib.face_recognition_resnet_model_v1",
                                  "landmarks": "dlib.shape_predictor_5_face_landmarks"]
}
