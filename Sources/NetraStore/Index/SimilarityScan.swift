/// The 1:N hot loops: squared Euclidean distances from one query to a block of 128-d rows,
/// from dot products and stored squared norms (`d² = |q|² + |x|² - 2 q·x`), at memory speed.
///
/// Explicit SIMD with `acc += a * b`: Swift targets baseline x86-64 here (SSE2: no FMA, no
/// F16C), where a fused multiply-add would become a library call per element, and so would a
/// `SIMD16<Float16>` to `SIMD16<Float>` conversion (about 10x slower than the whole scan): the
/// 16-bit copies are decoded with integer shifts and masks instead.
enum SimilarityScan {
    /// Writes `d²(query, row)` for every row in `rows` to `output[row - rows.lowerBound]`.
    ///
    /// This is the float32 answer: a compact scan re-ranks its candidates through this same
    /// function, one row at a time, so their distances are bit for bit those of a full scan.
    static func squaredDistances(query: UnsafePointer<Float>, queryNorm: Float, matrix: UnsafePointer<Float>,
                                 norms: UnsafePointer<Float>, rows: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        let q = UnsafeRawPointer(query)
        let q0 = q.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
        let q1 = q.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let q2 = q.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
        let q3 = q.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
        let q4 = q.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self)
        let q5 = q.loadUnaligned(fromByteOffset: 320, as: SIMD16<Float>.self)
        let q6 = q.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self)
        let q7 = q.loadUnaligned(fromByteOffset: 448, as: SIMD16<Float>.self)
        var x = UnsafeRawPointer(matrix + rows.lowerBound * 128)
        for index in 0..<rows.count {
            var a = q0 * x.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self)
            var b = q1 * x.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            a += q2 * x.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
            b += q3 * x.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
            a += q4 * x.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self)
            b += q5 * x.loadUnaligned(fromByteOffset: 320, as: SIMD16<Float>.self)
            a += q6 * x.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self)
            b += q7 * x.loadUnaligned(fromByteOffset: 448, as: SIMD16<Float>.self)
            output[index] = queryNorm + norms[rows.lowerBound + index] - 2 * (a + b).sum()
            x += 512
        }
    }

    /// Writes an approximation of `d²(query, row)` for every row in `rows`, from the float16
    /// copy of the rows (`halves`, 128 values a row): half the bytes of `squaredDistances`.
    /// `CompactRows` bounds how far it can be from the float32 answer.
    ///
    /// `query` is `CompactRows.prepared(_:)` of a float16 copy: each 16 values in the order the decoding yields
    /// them (the 8 even ones, then the 8 odd ones) and scaled by 2¹¹², so the products are those
    /// of the query with the stored values. Reading 16 halves as 8 words, a shift and a mask
    /// turn each word's two halves into float32 bits (exponent 2¹¹² low), with no shuffles.
    static func approximateSquaredDistances(preparedQuery query: UnsafePointer<Float>, queryNorm: Float,
                                            halves: UnsafePointer<UInt16>, norms: UnsafePointer<Float>, rows: Range<Int>,
                                            into output: UnsafeMutablePointer<Float>) {
        let q = UnsafeRawPointer(query)
        let e0 = q.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self), o0 = q.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let e1 = q.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), o1 = q.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        let e2 = q.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self), o2 = q.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
        let e3 = q.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self), o3 = q.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
        let e4 = q.loadUnaligned(fromByteOffset: 256, as: SIMD8<Float>.self), o4 = q.loadUnaligned(fromByteOffset: 288, as: SIMD8<Float>.self)
        let e5 = q.loadUnaligned(fromByteOffset: 320, as: SIMD8<Float>.self), o5 = q.loadUnaligned(fromByteOffset: 352, as: SIMD8<Float>.self)
        let e6 = q.loadUnaligned(fromByteOffset: 384, as: SIMD8<Float>.self), o6 = q.loadUnaligned(fromByteOffset: 416, as: SIMD8<Float>.self)
        let e7 = q.loadUnaligned(fromByteOffset: 448, as: SIMD8<Float>.self), o7 = q.loadUnaligned(fromByteOffset: 480, as: SIMD8<Float>.self)
        let mask = SIMD8<Int32>(repeating: halfMask)
        var x = UnsafeRawPointer(halves + rows.lowerBound * 128)
        for index in 0..<rows.count {
            let w0 = x.loadUnaligned(fromByteOffset: 0, as: SIMD8<UInt32>.self)
            var even = e0 * lowHalves(w0, mask)
            var odd = o0 * highHalves(w0, mask)
            let w1 = x.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self)
            even += e1 * lowHalves(w1, mask)
            odd += o1 * highHalves(w1, mask)
            let w2 = x.loadUnaligned(fromByteOffset: 64, as: SIMD8<UInt32>.self)
            even += e2 * lowHalves(w2, mask)
            odd += o2 * highHalves(w2, mask)
            let w3 = x.loadUnaligned(fromByteOffset: 96, as: SIMD8<UInt32>.self)
            even += e3 * lowHalves(w3, mask)
            odd += o3 * highHalves(w3, mask)
            let w4 = x.loadUnaligned(fromByteOffset: 128, as: SIMD8<UInt32>.self)
            even += e4 * lowHalves(w4, mask)
            odd += o4 * highHalves(w4, mask)
            let w5 = x.loadUnaligned(fromByteOffset: 160, as: SIMD8<UInt32>.self)
            even += e5 * lowHalves(w5, mask)
            odd += o5 * highHalves(w5, mask)
            let w6 = x.loadUnaligned(fromByteOffset: 192, as: SIMD8<UInt32>.self)
            even += e6 * lowHalves(w6, mask)
            odd += o6 * highHalves(w6, mask)
            let w7 = x.loadUnaligned(fromByteOffset: 224, as: SIMD8<UInt32>.self)
            even += e7 * lowHalves(w7, mask)
            odd += o7 * highHalves(w7, mask)
            output[index] = queryNorm + norms[rows.lowerBound + index] - 2 * laneSum(even + odd)
            x += 256
        }
    }

    /// Writes an approximation of `d²(query, row)` for every row in `rows`, from the bfloat16
    /// copy of the rows (`bfloat16s`, 128 values a row): half the bytes of `squaredDistances`.
    /// `CompactRows` bounds how far it can be from the float32 answer.
    ///
    /// `query` is `CompactRows.prepared(_:)` of a bfloat16 copy: each 16 values in the order the
    /// decoding yields them (the 8 even ones, then the 8 odd ones), unscaled. Reading 16 values
    /// as 8 words, a bfloat16 is the top half of a float32 already: the low halves need a shift
    /// left by 16, the high halves a mask, one instruction per 4 values and no shuffles (about
    /// 15% faster here than widening 16 `UInt16` lanes to `UInt32` and shifting them).
    static func approximateSquaredDistances(preparedQuery query: UnsafePointer<Float>, queryNorm: Float,
                                            bfloat16s: UnsafePointer<UInt16>, norms: UnsafePointer<Float>, rows: Range<Int>,
                                            into output: UnsafeMutablePointer<Float>) {
        let q = UnsafeRawPointer(query)
        let e0 = q.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self), o0 = q.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let e1 = q.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), o1 = q.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        let e2 = q.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self), o2 = q.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
        let e3 = q.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self), o3 = q.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
        let e4 = q.loadUnaligned(fromByteOffset: 256, as: SIMD8<Float>.self), o4 = q.loadUnaligned(fromByteOffset: 288, as: SIMD8<Float>.self)
        let e5 = q.loadUnaligned(fromByteOffset: 320, as: SIMD8<Float>.self), o5 = q.loadUnaligned(fromByteOffset: 352, as: SIMD8<Float>.self)
        let e6 = q.loadUnaligned(fromByteOffset: 384, as: SIMD8<Float>.self), o6 = q.loadUnaligned(fromByteOffset: 416, as: SIMD8<Float>.self)
        let e7 = q.loadUnaligned(fromByteOffset: 448, as: SIMD8<Float>.self), o7 = q.loadUnaligned(fromByteOffset: 480, as: SIMD8<Float>.self)
        let mask = SIMD8<UInt32>(repeating: 0xFFFF_0000)
        var x = UnsafeRawPointer(bfloat16s + rows.lowerBound * 128)
        for index in 0..<rows.count {
            let w0 = x.loadUnaligned(fromByteOffset: 0, as: SIMD8<UInt32>.self)
            var even = e0 * lowBFloat16s(w0)
            var odd = o0 * highBFloat16s(w0, mask)
            let w1 = x.loadUnaligned(fromByteOffset: 32, as: SIMD8<UInt32>.self)
            even += e1 * lowBFloat16s(w1)
            odd += o1 * highBFloat16s(w1, mask)
            let w2 = x.loadUnaligned(fromByteOffset: 64, as: SIMD8<UInt32>.self)
            even += e2 * lowBFloat16s(w2)
            odd += o2 * highBFloat16s(w2, mask)
            let w3 = x.loadUnaligned(fromByteOffset: 96, as: SIMD8<UInt32>.self)
            even += e3 * lowBFloat16s(w3)
            odd += o3 * highBFloat16s(w3, mask)
            let w4 = x.loadUnaligned(fromByteOffset: 128, as: SIMD8<UInt32>.self)
            even += e4 * lowBFloat16s(w4)
            odd += o4 * highBFloat16s(w4, mask)
            let w5 = x.loadUnaligned(fromByteOffset: 160, as: SIMD8<UInt32>.self)
            even += e5 * lowBFloat16s(w5)
            odd += o5 * highBFloat16s(w5, mask)
            let w6 = x.loadUnaligned(fromByteOffset: 192, as: SIMD8<UInt32>.self)
            even += e6 * lowBFloat16s(w6)
            odd += o6 * highBFloat16s(w6, mask)
            let w7 = x.loadUnaligned(fromByteOffset: 224, as: SIMD8<UInt32>.self)
            even += e7 * lowBFloat16s(w7)
            odd += o7 * highBFloat16s(w7, mask)
            output[index] = queryNorm + norms[rows.lowerBound + index] - 2 * laneSum(even + odd)
            x += 256
        }
    }

    /// The sum of the 8 lanes, as a tree. Never inlined: inlined, LLVM pushes the tree's
    /// narrowing shuffles up into the loop, which then takes about 1.5x as long (and a plain
    /// `.sum()` makes it scalarise the loop); the call costs far less.
    @inline(never)
    private static func laneSum(_ lanes: SIMD8<Float>) -> Float {
        let four = lanes.lowHalf + lanes.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    /// One stored float16 value as the scan reads it (scaled back by 2¹¹²): its exact value
    /// for zero and every normal float16 (`CompactRows.encodeHalf` stores no other kind).
    static func decodedHalf(_ half: UInt16) -> Float {
        let shifted = Int32(bitPattern: UInt32(half) << 16) >> 3
        return Float(bitPattern: UInt32(bitPattern: shifted & halfMask)) * 0x1p112
    }

    /// One stored bfloat16 value as the scan reads it: exactly the float32 whose top 16 bits
    /// it is (for every bfloat16, infinities and NaN included).
    static func decodedBFloat16(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 values in the low 16 bits of each word, as float32.
    @inline(__always)
    private static func lowBFloat16s(_ words: SIMD8<UInt32>) -> SIMD8<Float> {
        unsafeBitCast(words &<< 16, to: SIMD8<Float>.self)
    }

    /// The bfloat16 values in the high 16 bits of each word, as float32.
    @inline(__always)
    private static func highBFloat16s(_ words: SIMD8<UInt32>, _ mask: SIMD8<UInt32>) -> SIMD8<Float> {
        unsafeBitCast(words & mask, to: SIMD8<Float>.self)
    }

    /// Keeps the sign, exponent and mantissa of a float16 shifted into float32 position, and
    /// clears the three copies of the sign an arithmetic shift by 3 leaves above it.
    private static let halfMask = Int32(bitPattern: 0x8FFF_E000)

    /// The halves in the low 16 bits of each word, as float32 (2⁻¹¹² times their value).
    @inline(__always)
    private static func lowHalves(_ words: SIMD8<UInt32>, _ mask: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast((unsafeBitCast(words &<< 16, to: SIMD8<Int32>.self) &>> 3) & mask, to: SIMD8<Float>.self)
    }

    /// The halves in the high 16 bits of each word, as float32 (2⁻¹¹² times their value).
    @inline(__always)
    private static func highHalves(_ words: SIMD8<UInt32>, _ mask: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast((unsafeBitCast(words, to: SIMD8<Int32>.self) &>> 3) & mask, to: SIMD8<Float>.self)
    }
}
