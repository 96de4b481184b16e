#ifndef NETRA_CODEC_COMMON_H
#define NETRA_CODEC_COMMON_H

#include <stdio.h>
#include <string.h>
#include "netra_codecs.h"

static inline void netra_set_message(netra_decoded_image *out, const char *message) {
    snprintf(out->message, sizeof out->message, "%s", message);
}

static inline int netra_exceeds_limit(uint32_t width, uint32_t height, uint64_t max_pixels) {
    return (uint64_t)width * (uint64_t)height > max_pixels;
}

#endif
