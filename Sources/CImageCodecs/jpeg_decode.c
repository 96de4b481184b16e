#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <jerror.h>
#include "codec_common.h"

/* A progressive JPEG may hold thousands of tiny scans that each cost a full pass; no real
   encoder writes more than a few dozen. */
#define NETRA_JPEG_MAX_SCANS 200

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf recovery;
    int truncated;
    char message[JMSG_LENGTH_MAX];
} netra_jpeg_error;

typedef struct {
    struct jpeg_progress_mgr manager;
    netra_jpeg_error *error;
} netra_jpeg_progress;

static void netra_jpeg_error_exit(j_common_ptr cinfo) {
    netra_jpeg_error *error = (netra_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->message);
    longjmp(error->recovery, 1);
}

/* Warnings are ignored except "premature end of data": libjpeg would pad the image with
   grey and call it a success, which must not reach a face matcher. */
static void netra_jpeg_emit_message(j_common_ptr cinfo, int level) {
    netra_jpeg_error *error = (netra_jpeg_error *)cinfo->err;
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        error->truncated = 1;
        snprintf(error->message, sizeof error->message, "JPEG data is truncated");
        longjmp(error->recovery, 1);
    }
}

static void netra_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void netra_jpeg_progress_monitor(j_common_ptr cinfo) {
    netra_jpeg_progress *progress = (netra_jpeg_progress *)cinfo->progress;
    j_decompress_ptr decompressor = (j_decompress_ptr)cinfo;
    if (decompressor->input_scan_number > NETRA_JPEG_MAX_SCANS) {
        snprintf(progress->error->message, sizeof progress->error->message,
                 "JPEG has more than %d scans", NETRA_JPEG_MAX_SCANS);
        longjmp(progress->error->recovery, 1);
    }
}

/* CMYK to RGB as Pillow does it. Adobe writes inverted CMYK, which libjpeg hands back as is. */
static void netra_cmyk_row_to_rgb(const JSAMPLE *cmyk, uint8_t *rgb, JDIMENSION width, int inverted) {
    for (JDIMENSION x = 0; x < width; x++) {
        unsigned k = inverted ? cmyk[3] : 255u - cmyk[3];
        for (int channel = 0; channel < 3; channel++) {
            unsigned ink = inverted ? cmyk[channel] : 255u - cmyk[channel];
            unsigned product = ink * k + 128u;
            rgb[channel] = (uint8_t)((product + (product >> 8)) >> 8);
        }
        cmyk += 4;
        rgb += 3;
    }
}

netra_codec_status netra_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                                     netra_decoded_image *out) {
    struct jpeg_decompress_struct cinfo;
    netra_jpeg_error error;
    netra_jpeg_progress progress;
    uint8_t *volatile pixels = NULL;
    JSAMPLE *volatile cmyk_row = NULL;

    memset(out, 0, sizeof *out);
    memset(&error, 0, sizeof error);
    cinfo.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = netra_jpeg_error_exit;
    error.manager.emit_message = netra_jpeg_emit_message;
    error.manager.output_message = netra_jpeg_output_message;

    if (setjmp(error.recovery)) {
        netra_codec_status status = error.truncated ? NETRA_CODEC_TRUNCATED : NETRA_CODEC_CORRUPT;
        netra_set_message(out, error.message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        out->pixels = NULL;
        return status;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    if (netra_exceeds_limit(cinfo.image_width, cinfo.image_height, max_pixels)) {
        jpeg_destroy_decompress(&cinfo);
        return NETRA_CODEC_TOO_LARGE;
    }

    int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
    progress.manager.progress_monitor = netra_jpeg_progress_monitor;
    progress.error = &error;
    cinfo.progress = &progress.manager;

    jpeg_start_decompress(&cinfo);
    size_t row_bytes = (size_t)cinfo.output_width * 3;
    pixels = malloc(row_bytes * cinfo.output_height);
    if (is_cmyk) cmyk_row = malloc((size_t)cinfo.output_width * 4);
    if (pixels == NULL || (is_cmyk && cmyk_row == NULL)) {
        snprintf(error.message, sizeof error.message, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        netra_set_message(out, error.message);
        return NETRA_CODEC_OUT_OF_MEMORY;
    }

    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *destination = pixels + row_bytes * cinfo.output_scanline;
        JSAMPROW row = is_cmyk ? cmyk_row : destination;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (is_cmyk) netra_cmyk_row_to_rgb(cmyk_row, destination, cinfo.output_width, cinfo.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&cinfo);

    out->width = cinfo.output_width;
    out->height = cinfo.output_height;
    out->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    return NETRA_CODEC_OK;
}

void netra_codec_free(void *pixels) { free(pixels); }
