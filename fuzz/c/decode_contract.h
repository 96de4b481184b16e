/*
 * What every decode must give back, whatever the input (shared by fuzz_jpeg.c and fuzz_png.c):
 * a success holds width * height * 3 bytes of pixels within the limits, an error no pixels.
 * A broken contract aborts, which libFuzzer reports as a crash; the pixels are freed either way
 * (LeakSanitizer checks).
 *
 * 4 MP (12 MB of RGB output plus the codec's own buffers) keeps every legitimate allocation far
 * below libFuzzer's -rss_limit_mb=1024, so hitting that limit always means a defect.
 */
#ifndef NETRA_FUZZ_DECODE_CONTRACT_H
#define NETRA_FUZZ_DECODE_CONTRACT_H

#include <stdio.h>
#include <stdlib.h>
#include "netra_codecs.h"

static const netra_codec_limits netra_fuzz_limits = {.max_pixels = 4000000, .max_scans = 100, .max_cpu_seconds = 1.0};

static void netra_fuzz_contract_broken(const char *harness, const char *what) {
    fprintf(stderr, "%s: contract broken: %s\n", harness, what);
    abort();
}

static void netra_fuzz_check_decode(const char *harness, netra_codec_status status, netra_decoded_image *image) {
    if (status == NETRA_CODEC_OK) {
        if (image->pixels == NULL || image->width == 0 || image->height == 0) netra_fuzz_contract_broken(harness, "OK without pixels");
        if ((uint64_t)image->width * image->height > netra_fuzz_limits.max_pixels) netra_fuzz_contract_broken(harness, "OK above max_pixels");
        /* Touch the last byte: ASan then checks the buffer really holds width * height * 3. */
        volatile uint8_t last = image->pixels[(size_t)image->width * image->height * 3 - 1];
        (void)last;
    } else if (image->pixels != NULL) {
        netra_fuzz_contract_broken(harness, "an error status with pixels");
    }
    netra_codec_free(image->pixels);
}

#endif
