#ifndef NETRA_CODECS_H
#define NETRA_CODECS_H

/*
 * Memory-to-memory JPEG and PNG decoding into 8-bit interleaved RGB.
 *
 * libjpeg and libpng report errors by longjmp (libjpeg's default even calls exit()).
 * These functions keep every longjmp inside this file: whatever the input, they return a
 * status and a message, free what they allocated, and never terminate the process.
 *
 * They also bound the work an input can ask for before doing it: more pixels than its bytes
 * can encode (a decompression bomb), more scans than `max_scans`, compressed data past the
 * end of the image, and more CPU time than `max_cpu_seconds`.
 */

#include <stddef.h>
#include <stdint.h>

typedef enum {
    NETRA_CODEC_OK = 0,
    /// The data is not a valid image of this format; `message` says why.
    NETRA_CODEC_CORRUPT = 1,
    /// The data ends before the image does (including a JPEG whose end marker comes early).
    NETRA_CODEC_TRUNCATED = 2,
    /// The header declares more than `max_pixels` pixels; `width` and `height` are set.
    NETRA_CODEC_TOO_LARGE = 3,
    /// An allocation failed.
    NETRA_CODEC_OUT_OF_MEMORY = 4,
    /// The data asks for more work than its size or the limits allow; `message` says why.
    NETRA_CODEC_EXCESSIVE = 5,
} netra_codec_status;

/// What one decode may cost.
typedef struct {
    /// Largest width * height.
    uint64_t max_pixels;
    /// Most scans a JPEG may hold (progressive JPEGs pay a pass over the image per scan).
    uint32_t max_scans;
    /// CPU time the calling thread may spend in the decoder, seconds; 0 places no bound.
    double max_cpu_seconds;
} netra_codec_limits;

typedef struct {
    uint32_t width;
    uint32_t height;
    /// width * height * 3 bytes, R,G,B interleaved, rows top to bottom; free with netra_codec_free.
    uint8_t *pixels;
    char message[200];
} netra_decoded_image;

netra_codec_status netra_jpeg_decode(const uint8_t *data, size_t size, netra_codec_limits limits,
                                     netra_decoded_image *out);

netra_codec_status netra_png_decode(const uint8_t *data, size_t size, netra_codec_limits limits,
                                    netra_decoded_image *out);

/// The number of start-of-scan markers in a JPEG, found by walking its segments and skipping
/// entropy-coded data (so an embedded thumbnail is not counted); stops at the end marker.
uint32_t netra_jpeg_count_scans(const uint8_t *data, size_t size);

void netra_codec_free(void *pixels);

#endif
