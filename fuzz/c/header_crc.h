/* The fuzz targets' CRC fix-up, shared: after a mutation, recompute the
   header CRC-32 so that mutated tables reach the checks behind it.
   header_crc32 covers [0, 124) and [128, payload_offset) (spec, section 9).
   Include after kwbin.h (it uses kwb_crc32). */
#ifndef KWBIN_FUZZ_HEADER_CRC_H
#define KWBIN_FUZZ_HEADER_CRC_H

#include <stddef.h>
#include <stdint.h>

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void fix_header_crc(uint8_t *data, size_t size)
{
    if (size < 128) return;
    uint64_t payload = read_u64(data + 96);
    if (payload < 128 || payload > size) return;
    uint32_t crc = kwb_crc32(0, data, 124);
    crc = kwb_crc32(crc, data + 128, (size_t)(payload - 128));
    for (int i = 0; i < 4; i++) data[124 + i] = (uint8_t)(crc >> (8 * i));
}

#endif
