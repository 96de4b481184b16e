/// A 16-bit copy of a `FaceIndex`'s rows, row for row, in float16 or bfloat16, and the bound
/// on what reading it instead of the float32 rows can change: a first pass over it reads 256
/// bytes a face instead of 512 (256 MB more held per million faces, 256 MB less read per
/// query), and a float32 re-rank of the rows the bound cannot rule out gives exactly the
/// float32 answer.
///
/// The bound. For a query q and a row x stored as x̃, the float32 scan computes
/// `d² = fl(|q|² + |x|² - 2 q·x)` and the compact scan `d̃² = fl(|q|² + |x|² - 2 q·x̃)`, from the
/// same float32 norms. `|q·x - q·x̃| <= |q| |x - x̃|` (Cauchy-Schwarz), and a float32 dot product
/// of 128 terms, summed in any order, is within `γ₁₂₈ |q| |x|` of its real value
/// (`γₙ = nu / (1 - nu)`, `u = 2⁻²⁴`); with the rounding of the last subtraction,
/// `|d² - d̃²| <= 2 |q| e + 131 u (|q| + |x| + e)²`, where `e = |x - x̃|`. `slack(queryNorm:)`
/// is `2 |q| e + 2⁻¹³ (|q| + r)²` with `e` and `r >= |x| + e` the largest over the rows, all
/// rounded up: 15 times the rounding term, which also covers the float32 arithmetic of the
/// bound itself (and 2⁻¹⁰⁰ more covers products below float32's normal range). The largest
/// `e` and `r` only grow while the index holds rows (a removal leaves them as they were: still
/// bounds), and start again from zero when it is emptied. `e` is measured, row by row, against
/// the values the scan decodes, so the bound holds whatever the rounding was; what follows only
/// says how small it is.
///
/// float16 (`ScanPrecision.float16`). Values are stored as the float16 nearest them (ties to
/// even), except that those below float16's normal range (|x| < 2⁻¹⁴) are stored as zero and
/// those beyond it as the largest float16: the scan decodes zero and normal values only, and
/// either costs only a looser bound. Over the normal range `|xᵢ - x̃ᵢ| <= 2⁻¹¹ |xᵢ|`, so
/// `e <= 2⁻¹¹ |x|` (plus 2⁻²⁵ a value flushed to zero).
///
/// bfloat16 (`ScanPrecision.bfloat16`). Values are stored as the top 16 bits of their float32
/// bits rounded to nearest, ties to even: float32's sign and exponent and 7 of its 23 mantissa
/// bits, so 8 significant bits and float32's whole range. Decoding is exact for every finite
/// bfloat16, a 16-bit shift of its bits into float32 position, and nearest rounding to 8 bits
/// gives `|xᵢ - x̃ᵢ| <= 2⁻⁸ |xᵢ|` for every normal float32 (subnormal ones are off by at most
/// 2⁻¹³⁴, exactly as a float32 would hold them). Summed over the row,
/// `e = (Σ (xᵢ - x̃ᵢ)²)^½ <= 2⁻⁸ (Σ xᵢ²)^½ = 2⁻⁸ |x|`, hence `|q·x - q·x̃| <= 2⁻⁸ |q| |x|`:
/// eight times the float16 bound, for a shift instead of float16's shift, mask and scale. A
/// value that rounds beyond float32's range (to infinity), or is not finite, leaves the largest
/// `e` infinite: there is then no bound, and the search scans in float32. So do rows or queries
/// so large that `(|q| + r)²` is not far below float32's range (2¹⁰⁰).
final class CompactRows {
    /// `.float16` or `.bfloat16`: how each value is held.
    let precision: ScanPrecision
    private(set) var base: UnsafeMutablePointer<UInt16>
    private var capacity: Int
    /// The largest `|x - x̃|` over the rows, rounded up (infinity once a row was not finite).
    private(set) var largestError: Float = 0
    /// The largest `|x| + |x - x̃|` over the rows, rounded up.
    private(set) var largestReach: Float = 0

    init(capacity: Int, precision: ScanPrecision) {
        precondition(precision != .float32, "a compact copy holds 16 bits a value")
        self.capacity = capacity
        self.precision = precision
        base = .allocate(capacity: capacity * FaceIndex.dimension)
    }

    deinit { base.deallocate() }

    /// Stores the compact copy of the 128 values at `values` as row `row`.
    ///
    /// Each `x - x̃` is exact in float32 (x̃ is x rounded to fewer bits, or zero; beyond the
    /// format's range a rounded difference is covered below), and a float32 sum of 128 squares
    /// and its square root are within 2⁻¹⁶ of their real values: the 2⁻¹⁴ added covers both.
    func set(row: Int, from values: UnsafePointer<Float>) {
        let target = base + row * FaceIndex.dimension
        var squaredError: Float = 0, squaredLength: Float = 0
        let isHalf = precision == .float16
        for index in 0..<FaceIndex.dimension {
            let value = values[index]
            let stored = isHalf ? Self.encodeHalf(value) : Self.encodeBFloat16(value)
            target[index] = stored
            let difference = value - (isHalf ? SimilarityScan.decodedHalf(stored) : SimilarityScan.decodedBFloat16(stored))
            squaredError += difference * difference
            squaredLength += value * value
        }
        let error = (squaredError.squareRoot() * (1 + 0x1p-14)).nextUp
        let reach = (squaredLength.squareRoot() * (1 + 0x1p-14) + error).nextUp
        guard error.isFinite, reach.isFinite else {
            largestError = .infinity
            return
        }
        largestError = max(largestError, error)
        largestReach = max(largestReach, reach)
    }

    /// Copies row `source` over row `target` (a removal moving the last row into a hole).
    func move(from source: Int, to target: Int) {
        (base + target * FaceIndex.dimension).update(from: base + source * FaceIndex.dimension, count: FaceIndex.dimension)
    }

    /// Makes room for `newCapacity` rows, keeping the first `count`.
    func grow(to newCapacity: Int, keeping count: Int) {
        let larger = UnsafeMutablePointer<UInt16>.allocate(capacity: newCapacity * FaceIndex.dimension)
        larger.update(from: base, count: count * FaceIndex.dimension)
        base.deallocate()
        base = larger
        capacity = newCapacity
    }

    /// Forgets the bounds of rows no longer held (the index is empty).
    func reset() {
        largestError = 0
        largestReach = 0
    }

    /// How far the compact scan's `d̃²` can be from the float32 scan's `d²` for any row, for a
    /// query of squared norm `queryNorm` (as the search computed it); nil when no useful finite
    /// bound exists (a row or the query out of range): then scan in float32.
    func slack(queryNorm: Float) -> Float? {
        // The float32 squared norm is within γ₁₂₈ (< 2⁻¹⁶) of |q|²: 2⁻¹² more is an upper bound.
        let length = Double(queryNorm).squareRoot() * (1 + 0x1p-12)
        let reach = length + Double(largestReach)
        let slack = 2 * length * Double(largestError) * (1 + 0x1p-12) + 0x1p-13 * reach * reach + 0x1p-100
        guard slack.isFinite, reach * reach < 0x1p100 else { return nil }
        return Float(slack * (1 + 0x1p-20)).nextUp
    }

    /// `query` as this precision's `SimilarityScan.approximateSquaredDistances` reads it: each 16
    /// values as the 8 even ones then the 8 odd ones, times 2¹¹² for float16 (times 1 for
    /// bfloat16, which decodes at its own scale). Nil when a value is not below 2¹⁵ in
    /// magnitude (scaled, it could overflow): then scan in float32.
    func prepared(_ query: [Float]) -> [Float]? {
        guard query.count == FaceIndex.dimension, query.allSatisfy({ abs($0) < 0x1p15 }) else { return nil }
        let scale: Float = precision == .float16 ? 0x1p112 : 1
        var prepared = [Float](repeating: 0, count: FaceIndex.dimension)
        for chunk in stride(from: 0, to: FaceIndex.dimension, by: 16) {
            for lane in 0..<8 {
                prepared[chunk + lane] = query[chunk + 2 * lane] * scale
                prepared[chunk + 8 + lane] = query[chunk + 2 * lane + 1] * scale
            }
        }
        return prepared
    }

    /// The float16 bits stored for `value`: `Float16(value)` over float16's normal range, zero
    /// below it, the largest float16 beyond it (and for NaN). Bit arithmetic without branches,
    /// because a `Float16` conversion is a library call on baseline x86-64 and the rounding of
    /// random values would mispredict half the time.
    static func encodeHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern, magnitude = bits & 0x7FFF_FFFF
        let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
        // Rounds the 13 bits dropped to nearest, ties to even; a carry moves into the exponent.
        let rounded = (magnitude &+ 0x0FFF &+ (magnitude >> 13 & 1)) >> 13
        let half = magnitude < 0x3880_0000 ? 0 : min(rounded &- (127 - 15) << 10, 0x7BFF)
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// The bfloat16 bits stored for `value`: its float32 bits rounded to the top 16, to nearest
    /// with ties to even (a carry moves into the exponent, and past the largest finite value to
    /// infinity); NaN stays NaN (quiet). Without branches, as `encodeHalf`.
    static func encodeBFloat16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ (bits >> 16 & 1)) >> 16)
        return value.isNaN ? UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 : rounded
    }
}
