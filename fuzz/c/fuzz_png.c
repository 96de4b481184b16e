/*
 * libFuzzer harness for NETRA's PNG shim (Sources/CImageCodecs/png_decode.c): any input must
 * come back as a status, within the limits, without memory errors, undefined behaviour or leaks
 * (decode_contract.h). Built and run by scripts/fuzz; see docs/fuzzing.md.
 */
#include <stddef.h>
#include <stdint.h>
#include "decode_contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    netra_decoded_image image;
    netra_codec_status status = netra_png_decode(data, size, netra_fuzz_limits, &image);
    netra_fuzz_check_decode("fuzz_png", status, &image);
    return 0;
}
