/// The 1:N hot loop: squared Euclidean distances from one query to a block of 128-d rows,
/// from dot products and stored squared norms (`d² = |q|² + |x|² - 2 q·x`), at memory speed.
enum SimilarityScan {
    /// Writes `d²(query, row)` for every row in `rows` to `output[row - rows.lowerBound]`.
    ///
    /// Explicit SIMD with `acc += a * b`: Swift targets baseline x86-64 here, where a fused
    /// multiply-add would become a library call per element.
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
}
