#include <setjmp.h>
#include <stdlib.h>
#include <png.h>
#include "codec_common.h"

/* Ancillary chunks (iCCP, zTXt, ...) are decompressed by libpng; cap them against bombs. */
#define NETRA_PNG_MAX_CHUNK_BYTES (8u * 1024u * 1024u)
/* Deflate cannot compress better than 1032:1, so image data this many times smaller than the
   scanlines it claims to hold is not a PNG but a bomb. */
#define NETRA_PNG_MAX_DEFLATE_RATIO 1032u
/* Compressed data the last row may still read beyond its own scanline's worth. libpng inflates
   whatever follows the last row to its end, so a bomb appended to a small image would
   otherwise cost seconds (and the CPU budget, checked on every read, bounds a wide one). */
#define NETRA_PNG_LAST_ROW_SLACK (64u * 1024u)

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    netra_codec_status status;
    /// Offset at which the last row began to be read, and what it may read from there; 0 before.
    size_t last_row_offset;
    size_t last_row_allowance;
    netra_cpu_budget budget;
    char message[200];
} netra_png_source;

static void netra_png_fail(png_structp png, netra_png_source *source, netra_codec_status status, const char *message) {
    source->status = status;
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void netra_png_read(png_structp png, png_bytep destination, size_t length) {
    netra_png_source *source = (netra_png_source *)png_get_io_ptr(png);
    if (length > source->size - source->offset) netra_png_fail(png, source, NETRA_CODEC_TRUNCATED, "PNG data is truncated");
    /* libpng reads at most a few KB at a time, also while it inflates inside one row. */
    if (netra_cpu_budget_spent(&source->budget)) {
        char message[96];
        snprintf(message, sizeof message, "PNG needs more than %.1f s of CPU to decode", source->budget.limit);
        netra_png_fail(png, source, NETRA_CODEC_EXCESSIVE, message);
    }
    if (source->last_row_offset != 0 && source->offset + length - source->last_row_offset > source->last_row_allowance)
        netra_png_fail(png, source, NETRA_CODEC_EXCESSIVE, "PNG holds more image data than its pixels need");
    memcpy(destination, source->data + source->offset, length);
    source->offset += length;
}

static void netra_png_error(png_structp png, png_const_charp message) {
    netra_png_source *source = (netra_png_source *)png_get_error_ptr(png);
    source->status = NETRA_CODEC_CORRUPT;
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

static void netra_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

/* Walks the chunks before libpng sees them: a chunk whose declared length runs past the data
   is truncation, and an ancillary chunk over the chunk cap is refused. libpng (1.6.39) would
   allocate and zero a buffer of the declared length first: 2 GiB for a 41-byte file declaring
   a tEXt chunk of 2^31 - 1 bytes (found by fuzzing). */
static netra_codec_status netra_png_check_chunks(const uint8_t *data, size_t size, netra_decoded_image *out) {
    size_t offset = 8;
    while (offset + 8 <= size) {
        uint32_t length = ((uint32_t)data[offset] << 24) | ((uint32_t)data[offset + 1] << 16) |
                          ((uint32_t)data[offset + 2] << 8) | data[offset + 3];
        const uint8_t *type = data + offset + 4;
        if (length > 0x7FFFFFFFu) {
            netra_set_message(out, "PNG chunk length out of range");
            return NETRA_CODEC_CORRUPT;
        }
        if ((uint64_t)length + 12 > size - offset) {
            netra_set_message(out, "PNG data is truncated");
            return NETRA_CODEC_TRUNCATED;
        }
        int critical = (type[0] & 0x20) == 0;
        if (!critical && length > NETRA_PNG_MAX_CHUNK_BYTES) {
            snprintf(out->message, sizeof out->message, "PNG has a %u-byte ancillary chunk; the limit is %u bytes",
                     length, NETRA_PNG_MAX_CHUNK_BYTES);
            return NETRA_CODEC_EXCESSIVE;
        }
        if (memcmp(type, "IEND", 4) == 0) return NETRA_CODEC_OK;
        offset += (size_t)length + 12;
    }
    return NETRA_CODEC_OK;
}

netra_codec_status netra_png_decode(const uint8_t *data, size_t size, netra_codec_limits limits,
                                    netra_decoded_image *out) {
    netra_png_source source;
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *volatile pixels = NULL;

    memset(out, 0, sizeof *out);
    memset(&source, 0, sizeof source);
    source.data = data;
    source.size = size;
    source.budget = netra_cpu_budget_start(limits.max_cpu_seconds);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        netra_set_message(out, "missing PNG signature");
        return NETRA_CODEC_CORRUPT;
    }
    netra_codec_status chunks = netra_png_check_chunks(data, size, out);
    if (chunks != NETRA_CODEC_OK) return chunks;
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, netra_png_error, netra_png_warning);
    if (png != NULL) info = png_create_info_struct(png);
    if (png == NULL || info == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        netra_set_message(out, "out of memory");
        return NETRA_CODEC_OUT_OF_MEMORY;
    }

    if (setjmp(png_jmpbuf(png))) {
        netra_set_message(out, source.message);
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        out->pixels = NULL;
        return source.status;
    }

    png_set_read_fn(png, &source, netra_png_read);
    png_set_chunk_malloc_max(png, NETRA_PNG_MAX_CHUNK_BYTES);
    /* No ancillary chunk changes the 8-bit RGB NETRA keeps (alpha is dropped, gamma and colour
       profiles are left alone), so none is read: a thousand zTXt chunks each inflating to
       8 MB would otherwise all be kept until the decode ends. */
    static const png_byte ignored[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
                                      "sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0tRNS\0zTXt\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_chunk_cache_max(png, 16);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    out->width = width;
    out->height = height;
    if (netra_exceeds_limit(width, height, limits.max_pixels)) {
        png_destroy_read_struct(&png, &info, NULL);
        return NETRA_CODEC_TOO_LARGE;
    }
    uint64_t scanline_bytes = (uint64_t)height * (1 + (uint64_t)png_get_rowbytes(png, info));
    if (scanline_bytes / NETRA_PNG_MAX_DEFLATE_RATIO > size) {
        char message[160];
        snprintf(message, sizeof message, "PNG declares %u x %u pixels, more than %zu bytes can encode", width, height, size);
        netra_png_fail(png, &source, NETRA_CODEC_EXCESSIVE, message);
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
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t row_bytes = (size_t)width * 3;
    if (png_get_rowbytes(png, info) != row_bytes) netra_png_fail(png, &source, NETRA_CODEC_CORRUPT, "unsupported PNG pixel layout");
    pixels = malloc(row_bytes * height);
    if (pixels == NULL) netra_png_fail(png, &source, NETRA_CODEC_OUT_OF_MEMORY, "out of memory");

    size_t raw_row_bytes = scanline_bytes / (height == 0 ? 1 : height);
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            if (pass == passes - 1 && y == height - 1) {
                source.last_row_offset = source.offset;
                source.last_row_allowance = raw_row_bytes + NETRA_PNG_LAST_ROW_SLACK;
            }
            png_read_row(png, pixels + row_bytes * y, NULL);
            if (netra_cpu_budget_spent(&source.budget)) {
                char message[96];
                snprintf(message, sizeof message, "PNG needs more than %.1f s of CPU to decode", limits.max_cpu_seconds);
                netra_png_fail(png, &source, NETRA_CODEC_EXCESSIVE, message);
            }
        }
    }

    out->pixels = pixels;
    png_destroy_read_struct(&png, &info, NULL);
    return NETRA_CODEC_OK;
}
