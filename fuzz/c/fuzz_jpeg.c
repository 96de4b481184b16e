/*
 * libFuzzer harness for NETRA's JPEG shim (Sources/CImageCodecs/jpeg_decode.c): any input must
 * come back as a status, within the limits, without memory errors, undefined behaviour or leaks.
 * Built and run by scripts/fuzz; see docs/fuzzing.md.
 *
 * 4 MP (12 MB of RGB output plus libjpeg's own buffers) keeps every legitimate allocation far
 * below libFuzzer's -rss_limit_mb=1024, so hitting that limit always means a defect.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "netra_codecs.h"

static void contract_broken(const char *what) {
    fprintf(stderr, "fuzz_jpeg: contract broken: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const netra_codec_limits limits = {.max_pixels = 4000000, .max_scans = 100, .max_cpu_seconds = 1.0};

    uint32_t scans = netra_jpeg_count_scans(data, size);

    netra_decoded_image image;
    netra_codec_status status = netra_jpeg_decode(data, size, limits, &image);
    if (status == NETRA_CODEC_OK) {
        if (image.pixels == NULL || image.width == 0 || image.height == 0) contract_broken("OK without pixels");
        if ((uint64_t)image.width * image.height > limits.max_pixels) contract_broken("OK above max_pixels");
        if (scans > limits.max_scans) contract_broken("OK with more than max_scans scans");
        /* Touch the last byte: ASan then checks the buffer really holds width * height * 3. */
        volatile uint8_t last = image.pixels[(size_t)image.width * image.height * 3 - 1];
        (void)last;
    } else if (image.pixels != NULL) {
        contract_broken("an error status with pixels");
    }
    netra_codec_free(image.pixels);
    return 0;
}
