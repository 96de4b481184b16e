/// Which copy of the embeddings a single-query 1:N search reads. All give exactly the same
/// answer (the same subjects and faces, in the same order, at the same float32 distances);
/// they differ in the memory held and the bytes read per query.
public enum ScanPrecision: Sendable, Equatable, CaseIterable {
    /// Every row in float32: one pass over 512 bytes a face (512 MB per million faces), and
    /// nothing held beyond the float32 matrix.
    case float32
    /// A float16 copy of every row, held beside the float32 matrix (256 MB more per million
    /// faces), is scanned first: half the bytes. The few rows its proven error bound cannot
    /// rule out are then re-ranked in float32 (`CompactRows` gives the bound).
    case float16
    /// A bfloat16 copy of every row (each value's float32 bits rounded to the top 16), held
    /// beside the float32 matrix (256 MB more per million faces), is scanned first: half the
    /// bytes, decoded with one shift or one mask per 4 values (float16 needs two or three
    /// operations). Its bound is 8 times looser, so a few more rows are re-ranked in float32
    /// (`CompactRows` gives the bound).
    case bfloat16

    /// Bytes held per face beyond the float32 matrix (512 bytes a face) for this scan.
    public var extraBytesPerFace: Int {
        switch self {
        case .float32: 0
        case .float16, .bfloat16: 2 * FaceIndex.dimension
        }
    }
}
