#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <jerror.h>
#include "codec_common.h"

/* The least data a real JPEG can hold for its pixels: every 8x8 block of the full-resolution
   component costs at least one bit of its first scan, so no valid JPEG has more than 512
   pixels per byte. A header declaring more (a 600-byte file "of" 36 megapixels) is refused
   before libjpeg pads a huge grey image out of nothing. */
#define NETRA_JPEG_MAX_PIXELS_PER_BYTE 512u

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf recovery;
    netra_codec_status status;
    char message[JMSG_LENGTH_MAX];
} netra_jpeg_error;

typedef struct {
    struct jpeg_progress_mgr manager;
    netra_jpeg_error *error;
    uint32_t max_scans;
    netra_cpu_budget budget;
} netra_jpeg_progress;

static void netra_jpeg_fail(netra_jpeg_error *error, netra_codec_status status, const char *message) {
    error->status = status;
    snprintf(error->message, sizeof error->message, "%s", message);
    longjmp(error->recovery, 1);
}

static void netra_jpeg_error_exit(j_common_ptr cinfo) {
    netra_jpeg_error *error = (netra_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, error->message);
    error->status = NETRA_CODEC_CORRUPT;
    longjmp(error->recovery, 1);
}

/* libjpeg's "corrupt data" warnings mean it will invent pixels (grey padding after data that
   ends early, however the file ends; garbage after a bad Huffman code) and call the result a
   success, which must not reach a face matcher. Other warnings (extraneous bytes between
   markers, unknown JFIF versions) leave the pixels intact and are ignored. */
static void netra_jpeg_emit_message(j_common_ptr cinfo, int level) {
    netra_jpeg_error *error = (netra_jpeg_error *)cinfo->err;
    if (level != -1) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
        netra_jpeg_fail(error, NETRA_CODEC_TRUNCATED, "JPEG data is truncated");
        break;
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        (*cinfo->err->format_message)(cinfo, error->message);
        error->status = NETRA_CODEC_CORRUPT;
        longjmp(error->recovery, 1);
    default:
        break;
    }
}

static void netra_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void netra_jpeg_check_budget(netra_jpeg_progress *progress) {
    if (netra_cpu_budget_spent(&progress->budget)) {
        char message[96];
        snprintf(message, sizeof message, "JPEG needs more than %.1f s of CPU to decode", progress->budget.limit);
        netra_jpeg_fail(progress->error, NETRA_CODEC_EXCESSIVE, message);
    }
}

static void netra_jpeg_progress_monitor(j_common_ptr cinfo) {
    netra_jpeg_progress *progress = (netra_jpeg_progress *)cinfo->progress;
    j_decompress_ptr decompressor = (j_decompress_ptr)cinfo;
    if ((uint32_t)decompressor->input_scan_number > progress->max_scans) {
        char message[64];
        snprintf(message, sizeof message, "JPEG has more than %u scans", progress->max_scans);
        netra_jpeg_fail(progress->error, NETRA_CODEC_EXCESSIVE, message);
    }
    netra_jpeg_check_budget(progress);
}

/* A progressive JPEG whose end marker comes before its last scans decodes "successfully" as a
   blur. Encoders send every coefficient of every component and refine each to its last bit
   (libjpeg tracks the bit still missing in coef_bits: -1 never sent, 0 complete); anything
   else means scans are missing. */
static int netra_jpeg_missing_scans(j_decompress_ptr cinfo) {
    if (!cinfo->progressive_mode || cinfo->coef_bits == NULL) return 0;
    for (int component = 0; component < cinfo->num_components; component++)
        for (int coefficient = 0; coefficient < DCTSIZE2; coefficient++)
            if (cinfo->coef_bits[component][coefficient] != 0) return 1;
    return 0;
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

uint32_t netra_jpeg_count_scans(const uint8_t *data, size_t size) {
    uint32_t scans = 0;
    size_t offset = 2;
    while (offset + 1 < size) {
        if (data[offset] != 0xFF) {
            offset++;
            continue;
        }
        uint8_t marker = data[offset + 1];
        if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
            offset += (marker == 0xFF) ? 1 : 2;
            continue;
        }
        if (marker == 0xD9) break;
        if (offset + 3 >= size) break;
        size_t length = ((size_t)data[offset + 2] << 8) | data[offset + 3];
        offset += 2 + length;
        if (marker == 0xDA) {
            scans++;
            /* Entropy-coded data follows: FF is stuffed as FF 00, restart markers are FF D0-D7;
               any other FF xx is the next marker. */
            while (offset + 1 < size && !(data[offset] == 0xFF && data[offset + 1] != 0x00 &&
                                          !(data[offset + 1] >= 0xD0 && data[offset + 1] <= 0xD7)))
                offset++;
        }
    }
    return scans;
}

netra_codec_status netra_jpeg_decode(const uint8_t *data, size_t size, netra_codec_limits limits,
                                     netra_decoded_image *out) {
    struct jpeg_decompress_struct cinfo;
    netra_jpeg_error error;
    netra_jpeg_progress progress;
    uint8_t *volatile pixels = NULL;
    JSAMPLE *volatile cmyk_row = NULL;

    memset(out, 0, sizeof *out);
    memset(&error, 0, sizeof error);
    progress.error = &error;
    progress.max_scans = limits.max_scans;
    progress.budget = netra_cpu_budget_start(limits.max_cpu_seconds);

    uint32_t scans = netra_jpeg_count_scans(data, size);
    if (scans > limits.max_scans) {
        snprintf(out->message, sizeof out->message, "JPEG has %u scans, the limit is %u", scans, limits.max_scans);
        return NETRA_CODEC_EXCESSIVE;
    }

    cinfo.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = netra_jpeg_error_exit;
    error.manager.emit_message = netra_jpeg_emit_message;
    error.manager.output_message = netra_jpeg_output_message;

    if (setjmp(error.recovery)) {
        netra_set_message(out, error.message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        out->pixels = NULL;
        return error.status;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    out->width = cinfo.image_width;
    out->height = cinfo.image_height;
    if (netra_exceeds_limit(cinfo.image_width, cinfo.image_height, limits.max_pixels)) {
        jpeg_destroy_decompress(&cinfo);
        return NETRA_CODEC_TOO_LARGE;
    }
    if ((uint64_t)cinfo.image_width * cinfo.image_height > (uint64_t)size * NETRA_JPEG_MAX_PIXELS_PER_BYTE) {
        char message[160];
        snprintf(message, sizeof message, "JPEG declares %u x %u pixels, more than %zu bytes can encode",
                 cinfo.image_width, cinfo.image_height, size);
        netra_jpeg_fail(&error, NETRA_CODEC_EXCESSIVE, message);
    }

    int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
    progress.manager.progress_monitor = netra_jpeg_progress_monitor;
    cinfo.progress = &progress.manager;

    jpeg_start_decompress(&cinfo);
    if (netra_jpeg_missing_scans(&cinfo)) netra_jpeg_fail(&error, NETRA_CODEC_TRUNCATED, "JPEG data is truncated");

    size_t row_bytes = (size_t)cinfo.output_width * 3;
    pixels = malloc(row_bytes * cinfo.output_height);
    if (is_cmyk) cmyk_row = malloc((size_t)cinfo.output_width * 4);
    if (pixels == NULL || (is_cmyk && cmyk_row == NULL)) netra_jpeg_fail(&error, NETRA_CODEC_OUT_OF_MEMORY, "out of memory");

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
