#include <setjmp.h>
#include <stdlib.h>
#include <png.h>
#include "codec_common.h"

/* Ancillary chunks (iCCP, zTXt, ...) are decompressed by libpng; cap them against bombs. */
#define NETRA_PNG_MAX_CHUNK_BYTES (8u * 1024u * 1024u)

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
    char message[200];
} netra_png_source;

static void netra_png_read(png_structp png, png_bytep destination, size_t length) {
    netra_png_source *source = (netra_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) {
        source->truncated = 1;
        png_error(png, "PNG data is truncated");
    }
    memcpy(destination, source->data + source->offset, length);
    source->offset += length;
}

static void netra_png_error(png_structp png, png_const_charp message) {
    netra_png_source *source = (netra_png_source *)png_get_error_ptr(png);
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void netra_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

netra_codec_status netra_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                                    netra_decoded_image *out) {
    netra_png_source source = {data, size, 0, 0, {0}};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;

    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        netra_set_message(out, "missing PNG signature");
        return NETRA_CODEC_CORRUPT;
    }
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, netra_png_error, netra_png_warning);
    if (png != NULL) info = png_create_info_struct(png);
    if (png == NULL || info == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        netra_set_message(out, "out of memory");
        return NETRA_CODEC_OUT_OF_MEMORY;
    }

    if (setjmp(png_jmpbuf(png))) {
        netra_codec_status status = source.truncated ? NETRA_CODEC_TRUNCATED : NETRA_CODEC_CORRUPT;
        netra_set_message(out, source.message);
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        out->pixels = NULL;
        return status;
    }

    png_set_read_fn(png, &source, netra_png_read);
    png_set_chunk_malloc_max(png, NETRA_PNG_MAX_CHUNK_BYTES);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    out->width = width;
    out->height = height;
    if (netra_exceeds_limit(width, height, max_pixels)) {
        png_destroy_read_struct(&png, &info, NULL);
        return NETRA_CODEC_TOO_LARGE;
    }

    /* Everything to 8-bit RGB; alpha is dropped (not composited), gamma is left alone,
       as Pillow's convert("RGB") does. */
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t row_bytes = (size_t)width * 3;
    if (png_get_rowbytes(png, info) != row_bytes) {
        snprintf(source.message, sizeof source.message, "unsupported PNG pixel layout");
        png_longjmp(png, 1);
    }
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) {
        snprintf(source.message, sizeof source.message, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + row_bytes * y;
    png_read_image(png, rows);

    out->pixels = pixels;
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return NETRA_CODEC_OK;
}
