#include <setjmp.h>
#include <stdlib.h>
#include <png.h>
#include "codec_common.h"

/* A growing memory buffer that libpng writes the encoded file into. */
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    char message[200];
} netra_png_sink;

static void netra_png_write(png_structp png, png_bytep source, size_t length) {
    netra_png_sink *sink = (netra_png_sink *)png_get_io_ptr(png);
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 65536;
        while (capacity < sink->size + length) capacity *= 2;
        uint8_t *grown = realloc(sink->data, capacity);
        if (!grown) png_error(png, "out of memory while encoding PNG");
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, source, length);
    sink->size += length;
}

static void netra_png_flush(png_structp png) { (void)png; }

static void netra_png_encode_error(png_structp png, png_const_charp message) {
    netra_png_sink *sink = (netra_png_sink *)png_get_error_ptr(png);
    snprintf(sink->message, sizeof sink->message, "%s", message);
    png_longjmp(png, 1);
}

static void netra_png_encode_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

netra_codec_status netra_png_encode_rgb(const uint8_t *pixels, uint32_t width, uint32_t height,
                                        netra_encoded_file *out) {
    netra_png_sink sink = {NULL, 0, 0, {0}};
    out->data = NULL;
    out->size = 0;
    out->message[0] = 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, netra_png_encode_error,
                                              netra_png_encode_warning);
    if (!png) return NETRA_CODEC_OUT_OF_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(sink.data);
        snprintf(out->message, sizeof out->message, "%s", sink.message[0] ? sink.message : "PNG encoding failed");
        return NETRA_CODEC_CORRUPT;
    }
    png_set_write_fn(png, &sink, netra_png_write, netra_png_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t row = 0; row < height; row++) {
        png_write_row(png, (png_const_bytep)(pixels + (size_t)row * width * 3));
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    out->data = sink.data;
    out->size = sink.size;
    return NETRA_CODEC_OK;
}
