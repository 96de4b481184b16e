#ifndef NETRA_CODECS_H
#define NETRA_CODECS_H

/*
 * Memory-to-memory JPEG and PNG decoding into 8-bit interleaved RGB.
 *
 * libjpeg and libpng report errors by longjmp (libjpeg's default even calls exit()).
 * These functions keep every longjmp inside this file: whatever the input, they return a
 * status and a message, free what they allocated, and never terminate the process.
 */

#include <stddef.h>
#include <stdint.h>

typedef enum {
    NETRA_CODEC_OK = 0,
    /// The data is not a valid image of this format; `message` says why.
    NETRA_CODEC_CORRUPT = 1,
    /// The data ends before the image does.
    NETRA_CODEC_TRUNCATED = 2,
    /// The header declares more than `max_pixels` pixels; `width` and `height` are set.
    NETRA_CODEC_TOO_LARGE = 3,
    /// An allocation failed.
    NETRA_CODEC_OUT_OF_MEMORY = 4,
} netra_codec_status;

typedef struct {
    uint32_t width;
    uint32_t height;
    /// width * height * 3 bytes, R,G,B interleaved, rows top to bottom; free with netra_codec_free.
    uint8_t *pixels;
    char message[200];
} netra_decoded_image;

netra_codec_status netra_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                                     netra_decoded_image *out);

netra_codec_status netra_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                                    netra_decoded_image *out);

void netra_codec_free(void *pixels);

#endif
