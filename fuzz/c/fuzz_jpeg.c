/*
 * libFuzzer harness for NETRA's JPEG shim (Sources/CImageCodecs/jpeg_decode.c): any input must
 * come back as a status, within the limits, without memory errors, undefined behaviour or leaks
 * (decode_contract.h). Built and run by scripts/fuzz; see docs/fuzzing.md.
 */
#include <stddef.h>
#include <stdint.h>
#include "decode_contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint32_t scans = netra_jpeg_count_scans(data, size);
    netra_decoded_image image;
    netra_codec_status status = netra_jpeg_decode(data, size, netra_fuzz_limits, &image);
    if (status == NETRA_CODEC_OK && scans > netra_fuzz_limits.max_scans) {
        netra_fuzz_contract_broken("fuzz_jpeg", "OK with more than max_scans scans");
    }
    netra_fuzz_check_decode("fuzz_jpeg", status, &image);
    return 0;
}
