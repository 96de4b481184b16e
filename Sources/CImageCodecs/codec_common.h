#ifndef NETRA_CODEC_COMMON_H
#define NETRA_CODEC_COMMON_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include "netra_codecs.h"

static inline void netra_set_message(netra_decoded_image *out, const char *message) {
    snprintf(out->message, sizeof out->message, "%s", message);
}

static inline int netra_exceeds_limit(uint32_t width, uint32_t height, uint64_t max_pixels) {
    return (uint64_t)width * (uint64_t)height > max_pixels;
}

/// CPU seconds the calling thread has used so far.
static inline double netra_thread_cpu_seconds(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return 0;
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/// A CPU-time budget that starts when it is made.
typedef struct {
    double start;
    double limit;
} netra_cpu_budget;

static inline netra_cpu_budget netra_cpu_budget_start(double limit) {
    netra_cpu_budget budget = {limit > 0 ? netra_thread_cpu_seconds() : 0, limit};
    return budget;
}

static inline int netra_cpu_budget_spent(const netra_cpu_budget *budget) {
    return budget->limit > 0 && netra_thread_cpu_seconds() - budget->start > budget->limit;
}

#endif
