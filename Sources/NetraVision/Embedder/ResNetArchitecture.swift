/// dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`) as a layer
/// list in forward order: a 7x7 stem, four levels of residual blocks, global average pooling
/// and a 256 -> 128 projection. See `docs/dlib-models.md` §3.
package enum ResNetArchitecture {
    static let inputSize = 150
    static let descriptorLength = 128

    package static let layers: [DlibLayerSpec] = {
        var layers: [DlibLayerSpec] = [.convolution(filters: 32, kernel: 7, stride: 2), .affine, .relu,
                                       .maxPool(kernel: 3, stride: 2)]
        layers += residual(32) + residual(32) + residual(32)
        layers += downsampling(64) + residual(64) + residual(64) + residual(64)
        layers += downsampling(128) + residual(128) + residual(128)
        layers += downsampling(256) + residual(256) + residual(256)
        layers += downsampling(256)
        layers += [.averagePool(kernel: 0, stride: 1), .fullyConnected(outputs: descriptorLength)]
        return layers
    }()

    /// `ares<N>`: two 3x3 convolutions and an identity shortcut.
    private static func residual(_ filters: Int) -> [DlibLayerSpec] {
        [.tag(1), .convolution(filters: filters, kernel: 3, stride: 1), .affine, .relu,
         .convolution(filters: filters, kernel: 3, stride: 1), .affine, .addPrevious(tag: 1), .relu]
    }

    /// `ares_down<N>`: the first convolution has stride 2 and the shortcut is a 2x2 average
    /// pool, zero-extended to the new channel count.
    private static func downsampling(_ filters: Int) -> [DlibLayerSpec] {
        [.tag(1), .convolution(filters: filters, kernel: 3, stride: 2), .affine, .relu,
         .convolution(filters: filters, kernel: 3, stride: 1), .affine, .tag(2), .skip(1),
         .averagePool(kernel: 2, stride: 2), .addPrevious(tag: 2), .relu]
    }
}
