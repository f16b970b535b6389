/* kwbin.h - read kwbin v1.0 weight files from C.  MIT License (see LICENSE).

   One file, stb style.  In exactly ONE C or C++ file of your program write

       #define KWBIN_IMPLEMENTATION
       #include "kwbin.h"

   and include it plainly everywhere else.  The format is specified in
   spec/FORMAT.md; this reader makes every check of its section 10, in the
   same order, and returns the same error name as the Python reader.

   EXAMPLE

       kwb_file f;
       kwb_tensor t;
       kwb_result r = kwb_open_path(&f, "model.kwb", NULL);
       if (r != KWB_OK) { fprintf(stderr, "%s\n", kwb_result_string(r)); return 1; }
       if (kwb_find_weight(&f, "dense", "kernel", &t) == KWB_OK) {
           const float *w = kwb_tensor_f32(&t);  // zero-copy, or NULL: then
           ...                                    // kwb_copy_f32(&t, buf, n)
       }
       kwb_close(&f);

   OPENING

   kwb_open_memory(f, data, size)
       Checks the bytes in place.  Makes ZERO allocations: nothing is copied,
       every name and tensor pointer points into `data`, which you own and
       must keep alive and unchanged until kwb_close.  Lookups scan linearly
       unless you give it an index (kwb_build_index).  Without memory some
       checks repeat work: a string referenced again is rescanned unless it
       is in a 2.3 KiB stack cache, and the "stored once" and unique-name
       checks (spec steps 15-16) compare block by block, KWBIN_DUP_BLOCK
       strings at a time (16 KiB of stack).  That repeated work is counted,
       and capped by a WORK BUDGET linear in the file's size (64 units of
       about 4 instructions per byte, plus 2^24: KWBIN_WORK_PER_BYTE,
       KWBIN_WORK_BASE): past it the open stops and returns
       KWB_ERR_NEEDS_MEMORY ("needs_memory").  So every open is linear,
       whatever the file (at most about 0.1 s per MB here).  needs_memory is
       a resource limit, NOT a verdict on the file: open it with working
       memory (kwb_options.work, kwb_open_memory_ex or kwb_open_path) for the
       verdict.  Real files use a sliver of the budget: the Keras fixtures
       under 0.3 units per byte, a 100,000-tensor file with 50,000 layer
       configs 16.  To check the CRC-32s (kwb_options.verify), call
       kwb_verify(f) after the open.
   kwb_open_memory_ex(f, data, size, opt)
       Same, but may allocate through `opt` (NULL: malloc/free) scratch
       memory of at most 10 bytes per string-table byte plus 4 per record,
       freed before it returns (a NUL index of the string table, a flag per
       byte, the string starts sorted by content): then every open is
       linear in the file's size, whatever it holds (each string is scanned
       and JSON-checked once; "stored once" is checked by sorting the
       strings, without hashing; names are compared by offset).  The lookup
       index (below) is built during the open and freed by kwb_close; set
       opt->no_index to skip it.  If the allocator returns NULL, the open goes on without
       (as kwb_open_memory, budget included: on a file that needs the memory
       it returns KWB_ERR_OUT_OF_MEMORY).
   kwb_open_memory_ex(f, data, size, opt) with opt->work
       Your own working memory, for a linear and decided open with ZERO
       allocations (set opt->no_index too, or the index is allocated):

           static unsigned char arena[64 * 1024];
           kwb_options opt = {0};
           opt.work = arena;                  // any alignment
           opt.work_size = sizeof arena;      // enough: kwb_open_work_size
           opt.no_index = 1;
           r = kwb_open_memory_ex(&f, data, size, &opt);

       kwb_open_work_size(data, size) gives the bytes that make this open
       never return needs_memory: about 1 per string-table byte plus 8 per
       string (a Keras model: tens of KiB), never more than
       KWB_WORK_SIZE_MAX(size) = 6 * size + 64.  With less, what does not
       fit is done without memory (budgeted).  The memory is used only
       during the call: afterwards you may reuse it (e.g. for
       kwb_build_index).
   kwb_open_path(f, path, opt)                 (not with KWBIN_NO_STDIO)
       Maps the file read-only (mmap on POSIX), or, where mmap is missing or
       fails or opt->no_mmap is set, reads it into memory allocated through
       `opt`.  Then as kwb_open_memory_ex.  A file mapped while another
       process truncates it can raise SIGBUS; that is mmap, not kwbin.
       Non-regular files (FIFOs, devices) are refused with KWB_ERR_NOT_KWBIN
       (as the Python reader does), directories with KWB_ERR_IO.
   kwb_close(f)
       Releases what the open acquired (mapping, buffer, index) and zeroes f.
       Safe on a zeroed kwb_file and after a failed open (which has already
       released everything but f->message: a failed open never needs
       kwb_close).

   Every open checks spec steps 1-18 (header, placement, header CRC-32,
   strings, JSON, records, canonical string table, names).  kwb_verify(f)
   (or kwb_options.verify) makes steps 19-20: the CRC-32 of every tensor,
   then the zero padding after it, in file order.

   kwb_options: zero-initialise it and set what you need (sokol style):
       alloc_fn   void *(*)(size_t size, void *user_data)  default: malloc
       free_fn    void (*)(void *ptr, void *user_data)     default: free
                  (set both or neither: else KWB_ERR_INVALID_ARGUMENT)
       user_data  passed to alloc_fn and free_fn           default: NULL
       no_index   nonzero: do not build the lookup index   default: 0 (build it)
       no_mmap    nonzero: kwb_open_path reads the file    default: 0 (mmap)
       verify     nonzero: the open also checks every      default: 0
                  tensor's CRC-32 and padding (steps 19-20): a failure is
                  KWB_ERR_TENSOR_CHECKSUM / BAD_PADDING naming the tensor
       work, work_size  scratch memory for the checks      default: NULL
                  (see above); alloc_fn is then never called for them
   A NULL kwb_options pointer means all defaults.

   LOOKUP INDEX

   kwb_find_tensor(f, "dense/kernel", &t), kwb_find_weight(f, "dense",
   "kernel", &t) and kwb_find_layer(f, "dense", &l) use an index when the
   file has one, else scan (find_weight scans the layers, then only that
   layer's tensors).  The index is sorted arrays of u32, searched by
   bisection: the layers by name, the tensors by name, the distinct weight
   names, and the tensors by (layer, weight).  It hashes nothing, so no
   file can make it slow (a fixed hash, as FNV-1a before, can be flooded:
   names crafted to collide made build and lookups quadratic).  Building
   it sorts the names by content (MSD radix sort) and integers (LSD radix
   sort): O(name bytes + layers + tensors) for any file, each distinct
   string sorted once.  A lookup compares the name with about log2(n) names
   of the file, from where the bounds' common prefix ends: O(length +
   log n) in practice, O(length * log n) at worst; find_weight is two
   such lookups plus a bisection of integers.  kwb_open_memory_ex/
   kwb_open_path build it with the allocator; after kwb_open_memory you may
   give it memory yourself:

       size_t n = kwb_index_size(&f);        // bytes, 4-aligned memory
       kwb_build_index(&f, mem, n);          // mem must outlive f

   kwb_index_size is 4 * (layers + 3 * tensors + max(layers, tensors) + 1)
   bytes (the last part is room to sort in).

   Names are compared byte for byte (no normalisation), as C strings: every
   name is NUL-terminated in the file and contains no NUL.

   TENSORS

   kwb_get_tensor(f, i, &t) fills a kwb_tensor: name, weight, source (const
   char *, NUL-terminated, pointing into the file), layer index (KWB_NONE if
   none), dtype, ndim, shape[8], count (elements), offset, nbytes, data
   (pointer into the file) and crc32 (as stored).  Data is little-endian,
   row-major, aligned to the file's alignment (>= 16) relative to the file
   start, so also in memory if the buffer itself is aligned (mmap is).
   kwb_tensor_f32(&t): the data as const float *, only if the dtype is
       float32, the host is little-endian and the pointer is 4-aligned;
       else NULL.
   kwb_copy_f32(&t, dst, n): converts float32, float16 (exactly, with
       subnormals, infinities and NaNs), bfloat16 and float64 (rounded to
       nearest) to host floats; n must be >= t.count.  Integer and bool
       tensors: KWB_ERR_UNSUPPORTED_DTYPE.  Read raw bytes from t.data.
   kwb_get_layer(f, i, &l): name, class_name, config (JSON text or ""),
       parent (KWB_NONE at top level), first_tensor, tensor_count.
   kwb_metadata(f, &len): the metadata JSON text, NOT NUL-terminated.
   kwb_verify_tensor(f, i): steps 19-20 for one tensor.
   kwb_crc32(crc, data, n): zlib's CRC-32 (slicing-by-8 in four lanes,
       about 4.5 GB/s on one x86 core at -O2).
   kwb_dtype_name(d), kwb_dtype_size(d): "float32", 4, ...

   ERRORS

   Every function that can fail returns a kwb_result; KWB_OK is 0.
   kwb_result_string(r) gives the spec's error name ("bad_section",
   "tensor_checksum", ...), identical to Python's `KwbinError.code`, or for
   API errors "io", "out_of_memory", "invalid_argument", "not_found",
   "unsupported_dtype", and "needs_memory" (a resource limit, above).  No
   function asserts or aborts on bad input.

   After every open, failed or not, f.message (char[KWB_MESSAGE_SIZE], 256
   bytes with the NUL, "" after a success) says what was found where, on
   one line: "cannot open 'x.kwb': No such file or directory", "'x' is a
   directory", "offset 0: found 50 4b 03 04 ..., expected the kwbin magic
   89 4b 57 42 0d 0a 1a 0a (a ZIP archive: a Keras 3 .keras file? ...)",
   "tensor 3 'dense/kernel': CRC-32 of its 48 bytes at 576 is 0x..., the
   record says 0x...", "layer 2 class_name (offset 12, length 5) holds a
   NUL at offset 14".  Names from the file are quoted and cut after 48
   bytes; control characters become '?'.  Print it as
       fprintf(stderr, "%s: %s: %s\n", path, kwb_result_string(r), f.message);
   kwb_verify (const, thread-safe) writes no message: open with
   opt.verify for one naming the tensor.

   OPTIONS (define before including the implementation)

   KWBIN_STATIC          all functions static (private to one file).
   KWBIN_NO_STDIO        no file access: no kwb_open_path, no <stdio.h>,
                         no POSIX headers (freestanding-friendly).
   KWBIN_MALLOC(size) / KWBIN_FREE(ptr)
                         the default allocator (define both; then <stdlib.h>
                         is not included).  kwb_open_memory never calls it.
   KWBIN_DUP_BLOCK       names or strings per block of the allocation-free
                         duplicate checks, a power of two (default 1024;
                         16 bytes of stack each).
   KWBIN_WORK_PER_BYTE / KWBIN_WORK_BASE
                         the work budget of the memory-less checks, in units
                         per file byte (default 64) and units (default 2^24).

   LIMITS AND GUARANTEES

   - C99 and C++; needs <stdint.h>, <stddef.h>, <string.h>.  No global
     mutable state: a kwb_file may be read from several threads at once
     (kwb_build_index and kwb_close excepted).
   - Every read is bounds-checked before it happens, all size arithmetic is
     checked for 64-bit overflow, integers are read with byte shifts
     (correct on any host), and nothing is allocated or looped over in
     proportion to a count from the file before the file's size bounds it.
   - Files of a newer minor version (1.x) are read as the spec says: larger
     headers/records and unknown sections are skipped.
   - With memory, nothing depends on a hash: the string table's "stored
     once" check and the lookup index sort by content, so every open with
     memory, kwb_build_index and every lookup keep the costs above for any
     file, however crafted (tests/test_c_reader_work.py counts instructions
     on names that share one FNV-1a hash).  kwb_open_memory's stack tables
     do hash, but their work is budgeted (needs_memory).
   - On 32-bit hosts files above 4 GiB cannot be mapped (KWB_ERR_IO); where
     there is no mmap, files are read with fseek/ftell (at most LONG_MAX
     bytes).  Tested on x86-64 and on 32-bit big-endian powerpc (qemu).

   JSON (metadata, layer configs) is checked as the spec and the Python
   reader define it: RFC 8259, top level an object, nesting <= 64 (the top
   object counts 1), no NaN/Infinity, no raw control characters in strings;
   any valid escape (even a lone \ud800) and any number are accepted.
*/
#ifndef KWBIN_H
#define KWBIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef KWBIN_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define KWBIN_API static __attribute__((unused))
#else
#define KWBIN_API static
#endif
#else
#define KWBIN_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define KWB_VERSION_MAJOR 1
#define KWB_VERSION_MINOR 0 /* the newest minor version this reader knows */
#define KWB_NONE 0xFFFFFFFFu /* "no layer" / "no parent" */
#define KWB_MAX_NDIM 8
#define KWB_MESSAGE_SIZE 256 /* bytes of kwb_file.message, NUL included */

typedef enum kwb_result {
    KWB_OK = 0,
    /* Format errors, in the order of spec section 10's error table. */
    KWB_ERR_NOT_KWBIN,
    KWB_ERR_TRUNCATED,
    KWB_ERR_BYTE_ORDER,
    KWB_ERR_VERSION,
    KWB_ERR_BAD_HEADER,
    KWB_ERR_BAD_ALIGNMENT,
    KWB_ERR_BAD_SECTION,
    KWB_ERR_TRAILING_BYTES,
    KWB_ERR_HEADER_CHECKSUM,
    KWB_ERR_BAD_STRING,
    KWB_ERR_BAD_METADATA,
    KWB_ERR_BAD_LAYER,
    KWB_ERR_BAD_TENSOR,
    KWB_ERR_SIZE_OVERFLOW,
    KWB_ERR_TENSOR_OVERLAP,
    KWB_ERR_TENSOR_GAP,
    KWB_ERR_BAD_PAYLOAD,
    KWB_ERR_DUPLICATE_NAME,
    KWB_ERR_BAD_PADDING,
    KWB_ERR_TENSOR_CHECKSUM,
    /* API errors. */
    KWB_ERR_IO,
    KWB_ERR_OUT_OF_MEMORY,
    KWB_ERR_INVALID_ARGUMENT,
    KWB_ERR_NOT_FOUND,
    KWB_ERR_UNSUPPORTED_DTYPE,
    /* A resource limit, not a verdict on the file: the open was not decided
       within its work budget without working memory (see OPENING). */
    KWB_ERR_NEEDS_MEMORY
} kwb_result;

typedef enum kwb_dtype {
    KWB_DTYPE_INVALID = 0,
    KWB_FLOAT32 = 1,
    KWB_FLOAT16 = 2,
    KWB_BFLOAT16 = 3,
    KWB_FLOAT64 = 4,
    KWB_INT8 = 5,
    KWB_INT16 = 6,
    KWB_INT32 = 7,
    KWB_INT64 = 8,
    KWB_UINT8 = 9,
    KWB_UINT16 = 10,
    KWB_UINT32 = 11,
    KWB_UINT64 = 12,
    KWB_BOOL = 13
} kwb_dtype;

typedef struct kwb_options {
    void *(*alloc_fn)(size_t size, void *user_data); /* default: malloc */
    void (*free_fn)(void *ptr, void *user_data);     /* default: free */
    void *user_data;                                 /* default: NULL */
    int no_index;                                    /* default 0: build the lookup index */
    int no_mmap;                                     /* default 0: kwb_open_path maps the file */
    int verify;       /* nonzero: the open also makes kwb_verify's checks (every CRC-32) */
    void *work;       /* scratch memory for the open's checks, used instead of alloc_fn */
    size_t work_size; /* its bytes: kwb_open_work_size() makes every open linear */
} kwb_options;

typedef struct kwb_layer {
    const char *name;       /* NUL-terminated, in the file; never empty */
    const char *class_name; /* Keras class ("Dense"), may be "" */
    const char *config;     /* JSON object text, or "" for no config */
    uint32_t name_length, class_name_length, config_length; /* bytes, without the NUL */
    uint32_t index;         /* position in the layer table */
    uint32_t parent;        /* enclosing layer's index (always lower), or KWB_NONE */
    uint32_t first_tensor;  /* the layer owns tensors [first_tensor, first_tensor + tensor_count) */
    uint32_t tensor_count;
} kwb_layer;

typedef struct kwb_tensor {
    const char *name;   /* full name ("dense/kernel"), NUL-terminated, in the file; never empty */
    const char *weight; /* name within its layer ("kernel"); "" when layer is KWB_NONE */
    const char *source; /* where it came from (HDF5 dataset path, ...), may be "" */
    uint32_t name_length, weight_length, source_length; /* bytes, without the NUL */
    uint32_t index;     /* position in the tensor table */
    uint32_t layer;     /* owning layer's index, or KWB_NONE */
    kwb_dtype dtype;
    uint32_t ndim;                 /* 0 (scalar) to 8 */
    uint64_t shape[KWB_MAX_NDIM];  /* outermost first; entries from ndim on are 0 */
    uint64_t count;                /* number of elements: product of the shape */
    uint64_t offset;               /* absolute offset of the data in the file */
    uint64_t nbytes;               /* count * dtype size */
    const void *data;              /* the nbytes data bytes, little-endian, in the file */
    uint32_t crc32;                /* CRC-32 of the data as stored (kwb_verify checks it) */
} kwb_tensor;

/* An open file.  Public fields are read-only; the rest is private. */
typedef struct kwb_file {
    const unsigned char *data; /* the whole file */
    size_t size;
    uint32_t version_major, version_minor;
    uint32_t alignment;
    uint32_t layer_count, tensor_count;

    /* private */
    int known_minor_;
    uint32_t header_size_, layer_record_size_, tensor_record_size_;
    uint64_t strings_offset_, strings_size_, layers_offset_, layers_size_;
    uint64_t tensors_offset_, tensors_size_, metadata_offset_, metadata_size_;
    uint64_t payload_offset_, payload_size_;
    uint64_t next_string_;      /* during an open: where the next new string must start */
    uint64_t *nul_index_;       /* only during an open: next NUL per 64-byte block */
    unsigned char *marks_;      /* only during an open: flags per string-table byte */
    uint32_t *index_;           /* lookup index: layer, tensor and weight tables */
    size_t weight_count_;       /* index: tensors with a layer */
    size_t weight_strings_;     /* index: distinct weight strings */
    void *owned_index_;         /* allocated by us, freed by kwb_close */
    void *owned_data_;          /* file read into memory */
    void *map_addr_;            /* file mapped */
    size_t map_size_;
    kwb_options opt_;
    unsigned char *arena_;      /* only during an open: opt.work, handed out from the bottom */
    size_t arena_used_;
    void *arena_last_;          /* the latest piece handed out */
    void *seen_;                /* only during an open: the stack cache of strings seen */
    uint64_t work_done_, work_budget_; /* memory-less checks: units done, allowed */

    /* public: after any open, failed or not, one line saying what was found
       where ("layer 3 'dense': parent 7 is not an earlier layer"), or "". */
    char message[KWB_MESSAGE_SIZE];
} kwb_file;

KWBIN_API kwb_result kwb_open_memory(kwb_file *f, const void *data, size_t size);
KWBIN_API kwb_result kwb_open_memory_ex(kwb_file *f, const void *data, size_t size,
                                        const kwb_options *opt);
#ifndef KWBIN_NO_STDIO
KWBIN_API kwb_result kwb_open_path(kwb_file *f, const char *path, const kwb_options *opt);
#endif
KWBIN_API void kwb_close(kwb_file *f);
/* Bytes of kwb_options.work that make an open of these bytes linear and
   decided (never KWB_ERR_NEEDS_MEMORY); at most KWB_WORK_SIZE_MAX(size). */
KWBIN_API size_t kwb_open_work_size(const void *data, size_t size);
#define KWB_WORK_SIZE_MAX(size) (6 * (size) + 64)

KWBIN_API size_t kwb_index_size(const kwb_file *f);
KWBIN_API kwb_result kwb_build_index(kwb_file *f, void *mem, size_t size);

KWBIN_API uint32_t kwb_layer_count(const kwb_file *f);
KWBIN_API uint32_t kwb_tensor_count(const kwb_file *f);
KWBIN_API kwb_result kwb_get_layer(const kwb_file *f, uint32_t i, kwb_layer *out);
KWBIN_API kwb_result kwb_get_tensor(const kwb_file *f, uint32_t i, kwb_tensor *out);
KWBIN_API kwb_result kwb_find_layer(const kwb_file *f, const char *name, kwb_layer *out);
KWBIN_API kwb_result kwb_find_tensor(const kwb_file *f, const char *name, kwb_tensor *out);
KWBIN_API kwb_result kwb_find_weight(const kwb_file *f, const char *layer, const char *weight,
                                     kwb_tensor *out);
KWBIN_API const char *kwb_metadata(const kwb_file *f, size_t *length);

KWBIN_API kwb_result kwb_verify(const kwb_file *f);
KWBIN_API kwb_result kwb_verify_tensor(const kwb_file *f, uint32_t i);

KWBIN_API const float *kwb_tensor_f32(const kwb_tensor *t);
KWBIN_API kwb_result kwb_copy_f32(const kwb_tensor *t, float *dst, size_t count);

KWBIN_API const char *kwb_result_string(kwb_result r);
KWBIN_API const char *kwb_dtype_name(kwb_dtype d); /* "float32", ...; NULL if unknown */
KWBIN_API size_t kwb_dtype_size(kwb_dtype d);      /* bytes per element; 0 if unknown */
/* CRC-32 (zlib's): start with crc = 0, chain by passing the previous result. */
KWBIN_API uint32_t kwb_crc32(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* KWBIN_H */

/* ======================================================================== */
/*                              IMPLEMENTATION                              */
/* ======================================================================== */
#if defined(KWBIN_IMPLEMENTATION) && !defined(KWBIN_IMPLEMENTATION_DONE)
#define KWBIN_IMPLEMENTATION_DONE

#include <stdarg.h>
#include <string.h>

#if !defined(KWBIN_MALLOC) || !defined(KWBIN_FREE)
#include <stdlib.h>
#undef KWBIN_MALLOC
#undef KWBIN_FREE
#define KWBIN_MALLOC(size) malloc(size)
#define KWBIN_FREE(ptr) free(ptr)
#endif

#ifndef KWBIN_DUP_BLOCK
#define KWBIN_DUP_BLOCK 1024
#endif

#ifndef KWBIN_NO_STDIO
#include <errno.h>
#include <stdio.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define KWB__POSIX 1
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define KWB__U64_MAX UINT64_MAX
#define KWB__HEADER_SIZE 128u
#define KWB__LAYER_RECORD 40u
#define KWB__TENSOR_RECORD 120u
#define KWB__CRC_OFFSET 124u

/* ---- little-endian reads: byte shifts, so any host reads them right ---- */

static uint16_t kwb__u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t kwb__u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t kwb__u64(const unsigned char *p)
{
    return (uint64_t)kwb__u32(p) | (uint64_t)kwb__u32(p + 4) << 32;
}

/* ---- CRC-32 ------------------------------------------------------------- */

/* BEGIN generated by c_reader/tools/gen_crc_table.py */
static const uint32_t kwb__crc_table[8][256] = {
    {
        0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
        0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
        0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
        0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
        0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
        0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
        0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
        0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
        0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
        0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
        0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
        0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
        0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
        0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
        0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
        0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
        0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
        0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
        0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
        0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
        0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
        0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
        0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
        0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
        0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
        0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
        0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
        0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
        0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
        0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
        0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
        0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
        0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
        0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
        0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
        0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
        0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
        0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
        0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
        0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
        0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
        0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
        0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
    },
    {
        0x00000000u, 0x191b3141u, 0x32366282u, 0x2b2d53c3u, 0x646cc504u, 0x7d77f445u,
        0x565aa786u, 0x4f4196c7u, 0xc8d98a08u, 0xd1c2bb49u, 0xfaefe88au, 0xe3f4d9cbu,
        0xacb54f0cu, 0xb5ae7e4du, 0x9e832d8eu, 0x87981ccfu, 0x4ac21251u, 0x53d92310u,
        0x78f470d3u, 0x61ef4192u, 0x2eaed755u, 0x37b5e614u, 0x1c98b5d7u, 0x05838496u,
        0x821b9859u, 0x9b00a918u, 0xb02dfadbu, 0xa936cb9au, 0xe6775d5du, 0xff6c6c1cu,
        0xd4413fdfu, 0xcd5a0e9eu, 0x958424a2u, 0x8c9f15e3u, 0xa7b24620u, 0xbea97761u,
        0xf1e8e1a6u, 0xe8f3d0e7u, 0xc3de8324u, 0xdac5b265u, 0x5d5daeaau, 0x44469febu,
        0x6f6bcc28u, 0x7670fd69u, 0x39316baeu, 0x202a5aefu, 0x0b07092cu, 0x121c386du,
        0xdf4636f3u, 0xc65d07b2u, 0xed705471u, 0xf46b6530u, 0xbb2af3f7u, 0xa231c2b6u,
        0x891c9175u, 0x9007a034u, 0x179fbcfbu, 0x0e848dbau, 0x25a9de79u, 0x3cb2ef38u,
        0x73f379ffu, 0x6ae848beu, 0x41c51b7du, 0x58de2a3cu, 0xf0794f05u, 0xe9627e44u,
        0xc24f2d87u, 0xdb541cc6u, 0x94158a01u, 0x8d0ebb40u, 0xa623e883u, 0xbf38d9c2u,
        0x38a0c50du, 0x21bbf44cu, 0x0a96a78fu, 0x138d96ceu, 0x5ccc0009u, 0x45d73148u,
        0x6efa628bu, 0x77e153cau, 0xbabb5d54u, 0xa3a06c15u, 0x888d3fd6u, 0x91960e97u,
        0xded79850u, 0xc7cca911u, 0xece1fad2u, 0xf5facb93u, 0x7262d75cu, 0x6b79e61du,
        0x4054b5deu, 0x594f849fu, 0x160e1258u, 0x0f152319u, 0x243870dau, 0x3d23419bu,
        0x65fd6ba7u, 0x7ce65ae6u, 0x57cb0925u, 0x4ed03864u, 0x0191aea3u, 0x188a9fe2u,
        0x33a7cc21u, 0x2abcfd60u, 0xad24e1afu, 0xb43fd0eeu, 0x9f12832du, 0x8609b26cu,
        0xc94824abu, 0xd05315eau, 0xfb7e4629u, 0xe2657768u, 0x2f3f79f6u, 0x362448b7u,
        0x1d091b74u, 0x04122a35u, 0x4b53bcf2u, 0x52488db3u, 0x7965de70u, 0x607eef31u,
        0xe7e6f3feu, 0xfefdc2bfu, 0xd5d0917cu, 0xcccba03du, 0x838a36fau, 0x9a9107bbu,
        0xb1bc5478u, 0xa8a76539u, 0x3b83984bu, 0x2298a90au, 0x09b5fac9u, 0x10aecb88u,
        0x5fef5d4fu, 0x46f46c0eu, 0x6dd93fcdu, 0x74c20e8cu, 0xf35a1243u, 0xea412302u,
        0xc16c70c1u, 0xd8774180u, 0x9736d747u, 0x8e2de606u, 0xa500b5c5u, 0xbc1b8484u,
        0x71418a1au, 0x685abb5bu, 0x4377e898u, 0x5a6cd9d9u, 0x152d4f1eu, 0x0c367e5fu,
        0x271b2d9cu, 0x3e001cddu, 0xb9980012u, 0xa0833153u, 0x8bae6290u, 0x92b553d1u,
        0xddf4c516u, 0xc4eff457u, 0xefc2a794u, 0xf6d996d5u, 0xae07bce9u, 0xb71c8da8u,
        0x9c31de6bu, 0x852aef2au, 0xca6b79edu, 0xd37048acu, 0xf85d1b6fu, 0xe1462a2eu,
        0x66de36e1u, 0x7fc507a0u, 0x54e85463u, 0x4df36522u, 0x02b2f3e5u, 0x1ba9c2a4u,
        0x30849167u, 0x299fa026u, 0xe4c5aeb8u, 0xfdde9ff9u, 0xd6f3cc3au, 0xcfe8fd7bu,
        0x80a96bbcu, 0x99b25afdu, 0xb29f093eu, 0xab84387fu, 0x2c1c24b0u, 0x350715f1u,
        0x1e2a4632u, 0x07317773u, 0x4870e1b4u, 0x516bd0f5u, 0x7a468336u, 0x635db277u,
        0xcbfad74eu, 0xd2e1e60fu, 0xf9ccb5ccu, 0xe0d7848du, 0xaf96124au, 0xb68d230bu,
        0x9da070c8u, 0x84bb4189u, 0x03235d46u, 0x1a386c07u, 0x31153fc4u, 0x280e0e85u,
        0x674f9842u, 0x7e54a903u, 0x5579fac0u, 0x4c62cb81u, 0x8138c51fu, 0x9823f45eu,
        0xb30ea79du, 0xaa1596dcu, 0xe554001bu, 0xfc4f315au, 0xd7626299u, 0xce7953d8u,
        0x49e14f17u, 0x50fa7e56u, 0x7bd72d95u, 0x62cc1cd4u, 0x2d8d8a13u, 0x3496bb52u,
        0x1fbbe891u, 0x06a0d9d0u, 0x5e7ef3ecu, 0x4765c2adu, 0x6c48916eu, 0x7553a02fu,
        0x3a1236e8u, 0x230907a9u, 0x0824546au, 0x113f652bu, 0x96a779e4u, 0x8fbc48a5u,
        0xa4911b66u, 0xbd8a2a27u, 0xf2cbbce0u, 0xebd08da1u, 0xc0fdde62u, 0xd9e6ef23u,
        0x14bce1bdu, 0x0da7d0fcu, 0x268a833fu, 0x3f91b27eu, 0x70d024b9u, 0x69cb15f8u,
        0x42e6463bu, 0x5bfd777au, 0xdc656bb5u, 0xc57e5af4u, 0xee530937u, 0xf7483876u,
        0xb809aeb1u, 0xa1129ff0u, 0x8a3fcc33u, 0x9324fd72u,
    },
    {
        0x00000000u, 0x01c26a37u, 0x0384d46eu, 0x0246be59u, 0x0709a8dcu, 0x06cbc2ebu,
        0x048d7cb2u, 0x054f1685u, 0x0e1351b8u, 0x0fd13b8fu, 0x0d9785d6u, 0x0c55efe1u,
        0x091af964u, 0x08d89353u, 0x0a9e2d0au, 0x0b5c473du, 0x1c26a370u, 0x1de4c947u,
        0x1fa2771eu, 0x1e601d29u, 0x1b2f0bacu, 0x1aed619bu, 0x18abdfc2u, 0x1969b5f5u,
        0x1235f2c8u, 0x13f798ffu, 0x11b126a6u, 0x10734c91u, 0x153c5a14u, 0x14fe3023u,
        0x16b88e7au, 0x177ae44du, 0x384d46e0u, 0x398f2cd7u, 0x3bc9928eu, 0x3a0bf8b9u,
        0x3f44ee3cu, 0x3e86840bu, 0x3cc03a52u, 0x3d025065u, 0x365e1758u, 0x379c7d6fu,
        0x35dac336u, 0x3418a901u, 0x3157bf84u, 0x3095d5b3u, 0x32d36beau, 0x331101ddu,
        0x246be590u, 0x25a98fa7u, 0x27ef31feu, 0x262d5bc9u, 0x23624d4cu, 0x22a0277bu,
        0x20e69922u, 0x2124f315u, 0x2a78b428u, 0x2bbade1fu, 0x29fc6046u, 0x283e0a71u,
        0x2d711cf4u, 0x2cb376c3u, 0x2ef5c89au, 0x2f37a2adu, 0x709a8dc0u, 0x7158e7f7u,
        0x731e59aeu, 0x72dc3399u, 0x7793251cu, 0x76514f2bu, 0x7417f172u, 0x75d59b45u,
        0x7e89dc78u, 0x7f4bb64fu, 0x7d0d0816u, 0x7ccf6221u, 0x798074a4u, 0x78421e93u,
        0x7a04a0cau, 0x7bc6cafdu, 0x6cbc2eb0u, 0x6d7e4487u, 0x6f38fadeu, 0x6efa90e9u,
        0x6bb5866cu, 0x6a77ec5bu, 0x68315202u, 0x69f33835u, 0x62af7f08u, 0x636d153fu,
        0x612bab66u, 0x60e9c151u, 0x65a6d7d4u, 0x6464bde3u, 0x662203bau, 0x67e0698du,
        0x48d7cb20u, 0x4915a117u, 0x4b531f4eu, 0x4a917579u, 0x4fde63fcu, 0x4e1c09cbu,
        0x4c5ab792u, 0x4d98dda5u, 0x46c49a98u, 0x4706f0afu, 0x45404ef6u, 0x448224c1u,
        0x41cd3244u, 0x400f5873u, 0x4249e62au, 0x438b8c1du, 0x54f16850u, 0x55330267u,
        0x5775bc3eu, 0x56b7d609u, 0x53f8c08cu, 0x523aaabbu, 0x507c14e2u, 0x51be7ed5u,
        0x5ae239e8u, 0x5b2053dfu, 0x5966ed86u, 0x58a487b1u, 0x5deb9134u, 0x5c29fb03u,
        0x5e6f455au, 0x5fad2f6du, 0xe1351b80u, 0xe0f771b7u, 0xe2b1cfeeu, 0xe373a5d9u,
        0xe63cb35cu, 0xe7fed96bu, 0xe5b86732u, 0xe47a0d05u, 0xef264a38u, 0xeee4200fu,
        0xeca29e56u, 0xed60f461u, 0xe82fe2e4u, 0xe9ed88d3u, 0xebab368au, 0xea695cbdu,
        0xfd13b8f0u, 0xfcd1d2c7u, 0xfe976c9eu, 0xff5506a9u, 0xfa1a102cu, 0xfbd87a1bu,
        0xf99ec442u, 0xf85cae75u, 0xf300e948u, 0xf2c2837fu, 0xf0843d26u, 0xf1465711u,
        0xf4094194u, 0xf5cb2ba3u, 0xf78d95fau, 0xf64fffcdu, 0xd9785d60u, 0xd8ba3757u,
        0xdafc890eu, 0xdb3ee339u, 0xde71f5bcu, 0xdfb39f8bu, 0xddf521d2u, 0xdc374be5u,
        0xd76b0cd8u, 0xd6a966efu, 0xd4efd8b6u, 0xd52db281u, 0xd062a404u, 0xd1a0ce33u,
        0xd3e6706au, 0xd2241a5du, 0xc55efe10u, 0xc49c9427u, 0xc6da2a7eu, 0xc7184049u,
        0xc25756ccu, 0xc3953cfbu, 0xc1d382a2u, 0xc011e895u, 0xcb4dafa8u, 0xca8fc59fu,
        0xc8c97bc6u, 0xc90b11f1u, 0xcc440774u, 0xcd866d43u, 0xcfc0d31au, 0xce02b92du,
        0x91af9640u, 0x906dfc77u, 0x922b422eu, 0x93e92819u, 0x96a63e9cu, 0x976454abu,
        0x9522eaf2u, 0x94e080c5u, 0x9fbcc7f8u, 0x9e7eadcfu, 0x9c381396u, 0x9dfa79a1u,
        0x98b56f24u, 0x99770513u, 0x9b31bb4au, 0x9af3d17du, 0x8d893530u, 0x8c4b5f07u,
        0x8e0de15eu, 0x8fcf8b69u, 0x8a809decu, 0x8b42f7dbu, 0x89044982u, 0x88c623b5u,
        0x839a6488u, 0x82580ebfu, 0x801eb0e6u, 0x81dcdad1u, 0x8493cc54u, 0x8551a663u,
        0x8717183au, 0x86d5720du, 0xa9e2d0a0u, 0xa820ba97u, 0xaa6604ceu, 0xaba46ef9u,
        0xaeeb787cu, 0xaf29124bu, 0xad6fac12u, 0xacadc625u, 0xa7f18118u, 0xa633eb2fu,
        0xa4755576u, 0xa5b73f41u, 0xa0f829c4u, 0xa13a43f3u, 0xa37cfdaau, 0xa2be979du,
        0xb5c473d0u, 0xb40619e7u, 0xb640a7beu, 0xb782cd89u, 0xb2cddb0cu, 0xb30fb13bu,
        0xb1490f62u, 0xb08b6555u, 0xbbd72268u, 0xba15485fu, 0xb853f606u, 0xb9919c31u,
        0xbcde8ab4u, 0xbd1ce083u, 0xbf5a5edau, 0xbe9834edu,
    },
    {
        0x00000000u, 0xb8bc6765u, 0xaa09c88bu, 0x12b5afeeu, 0x8f629757u, 0x37def032u,
        0x256b5fdcu, 0x9dd738b9u, 0xc5b428efu, 0x7d084f8au, 0x6fbde064u, 0xd7018701u,
        0x4ad6bfb8u, 0xf26ad8ddu, 0xe0df7733u, 0x58631056u, 0x5019579fu, 0xe8a530fau,
        0xfa109f14u, 0x42acf871u, 0xdf7bc0c8u, 0x67c7a7adu, 0x75720843u, 0xcdce6f26u,
        0x95ad7f70u, 0x2d111815u, 0x3fa4b7fbu, 0x8718d09eu, 0x1acfe827u, 0xa2738f42u,
        0xb0c620acu, 0x087a47c9u, 0xa032af3eu, 0x188ec85bu, 0x0a3b67b5u, 0xb28700d0u,
        0x2f503869u, 0x97ec5f0cu, 0x8559f0e2u, 0x3de59787u, 0x658687d1u, 0xdd3ae0b4u,
        0xcf8f4f5au, 0x7733283fu, 0xeae41086u, 0x525877e3u, 0x40edd80du, 0xf851bf68u,
        0xf02bf8a1u, 0x48979fc4u, 0x5a22302au, 0xe29e574fu, 0x7f496ff6u, 0xc7f50893u,
        0xd540a77du, 0x6dfcc018u, 0x359fd04eu, 0x8d23b72bu, 0x9f9618c5u, 0x272a7fa0u,
        0xbafd4719u, 0x0241207cu, 0x10f48f92u, 0xa848e8f7u, 0x9b14583du, 0x23a83f58u,
        0x311d90b6u, 0x89a1f7d3u, 0x1476cf6au, 0xaccaa80fu, 0xbe7f07e1u, 0x06c36084u,
        0x5ea070d2u, 0xe61c17b7u, 0xf4a9b859u, 0x4c15df3cu, 0xd1c2e785u, 0x697e80e0u,
        0x7bcb2f0eu, 0xc377486bu, 0xcb0d0fa2u, 0x73b168c7u, 0x6104c729u, 0xd9b8a04cu,
        0x446f98f5u, 0xfcd3ff90u, 0xee66507eu, 0x56da371bu, 0x0eb9274du, 0xb6054028u,
        0xa4b0efc6u, 0x1c0c88a3u, 0x81dbb01au, 0x3967d77fu, 0x2bd27891u, 0x936e1ff4u,
        0x3b26f703u, 0x839a9066u, 0x912f3f88u, 0x299358edu, 0xb4446054u, 0x0cf80731u,
        0x1e4da8dfu, 0xa6f1cfbau, 0xfe92dfecu, 0x462eb889u, 0x549b1767u, 0xec277002u,
        0x71f048bbu, 0xc94c2fdeu, 0xdbf98030u, 0x6345e755u, 0x6b3fa09cu, 0xd383c7f9u,
        0xc1366817u, 0x798a0f72u, 0xe45d37cbu, 0x5ce150aeu, 0x4e54ff40u, 0xf6e89825u,
        0xae8b8873u, 0x1637ef16u, 0x048240f8u, 0xbc3e279du, 0x21e91f24u, 0x99557841u,
        0x8be0d7afu, 0x335cb0cau, 0xed59b63bu, 0x55e5d15eu, 0x47507eb0u, 0xffec19d5u,
        0x623b216cu, 0xda874609u, 0xc832e9e7u, 0x708e8e82u, 0x28ed9ed4u, 0x9051f9b1u,
        0x82e4565fu, 0x3a58313au, 0xa78f0983u, 0x1f336ee6u, 0x0d86c108u, 0xb53aa66du,
        0xbd40e1a4u, 0x05fc86c1u, 0x1749292fu, 0xaff54e4au, 0x322276f3u, 0x8a9e1196u,
        0x982bbe78u, 0x2097d91du, 0x78f4c94bu, 0xc048ae2eu, 0xd2fd01c0u, 0x6a4166a5u,
        0xf7965e1cu, 0x4f2a3979u, 0x5d9f9697u, 0xe523f1f2u, 0x4d6b1905u, 0xf5d77e60u,
        0xe762d18eu, 0x5fdeb6ebu, 0xc2098e52u, 0x7ab5e937u, 0x680046d9u, 0xd0bc21bcu,
        0x88df31eau, 0x3063568fu, 0x22d6f961u, 0x9a6a9e04u, 0x07bda6bdu, 0xbf01c1d8u,
        0xadb46e36u, 0x15080953u, 0x1d724e9au, 0xa5ce29ffu, 0xb77b8611u, 0x0fc7e174u,
        0x9210d9cdu, 0x2aacbea8u, 0x38191146u, 0x80a57623u, 0xd8c66675u, 0x607a0110u,
        0x72cfaefeu, 0xca73c99bu, 0x57a4f122u, 0xef189647u, 0xfdad39a9u, 0x45115eccu,
        0x764dee06u, 0xcef18963u, 0xdc44268du, 0x64f841e8u, 0xf92f7951u, 0x41931e34u,
        0x5326b1dau, 0xeb9ad6bfu, 0xb3f9c6e9u, 0x0b45a18cu, 0x19f00e62u, 0xa14c6907u,
        0x3c9b51beu, 0x842736dbu, 0x96929935u, 0x2e2efe50u, 0x2654b999u, 0x9ee8defcu,
        0x8c5d7112u, 0x34e11677u, 0xa9362eceu, 0x118a49abu, 0x033fe645u, 0xbb838120u,
        0xe3e09176u, 0x5b5cf613u, 0x49e959fdu, 0xf1553e98u, 0x6c820621u, 0xd43e6144u,
        0xc68bceaau, 0x7e37a9cfu, 0xd67f4138u, 0x6ec3265du, 0x7c7689b3u, 0xc4caeed6u,
        0x591dd66fu, 0xe1a1b10au, 0xf3141ee4u, 0x4ba87981u, 0x13cb69d7u, 0xab770eb2u,
        0xb9c2a15cu, 0x017ec639u, 0x9ca9fe80u, 0x241599e5u, 0x36a0360bu, 0x8e1c516eu,
        0x866616a7u, 0x3eda71c2u, 0x2c6fde2cu, 0x94d3b949u, 0x090481f0u, 0xb1b8e695u,
        0xa30d497bu, 0x1bb12e1eu, 0x43d23e48u, 0xfb6e592du, 0xe9dbf6c3u, 0x516791a6u,
        0xccb0a91fu, 0x740cce7au, 0x66b96194u, 0xde0506f1u,
    },
    {
        0x00000000u, 0x3d6029b0u, 0x7ac05360u, 0x47a07ad0u, 0xf580a6c0u, 0xc8e08f70u,
        0x8f40f5a0u, 0xb220dc10u, 0x30704bc1u, 0x0d106271u, 0x4ab018a1u, 0x77d03111u,
        0xc5f0ed01u, 0xf890c4b1u, 0xbf30be61u, 0x825097d1u, 0x60e09782u, 0x5d80be32u,
        0x1a20c4e2u, 0x2740ed52u, 0x95603142u, 0xa80018f2u, 0xefa06222u, 0xd2c04b92u,
        0x5090dc43u, 0x6df0f5f3u, 0x2a508f23u, 0x1730a693u, 0xa5107a83u, 0x98705333u,
        0xdfd029e3u, 0xe2b00053u, 0xc1c12f04u, 0xfca106b4u, 0xbb017c64u, 0x866155d4u,
        0x344189c4u, 0x0921a074u, 0x4e81daa4u, 0x73e1f314u, 0xf1b164c5u, 0xccd14d75u,
        0x8b7137a5u, 0xb6111e15u, 0x0431c205u, 0x3951ebb5u, 0x7ef19165u, 0x4391b8d5u,
        0xa121b886u, 0x9c419136u, 0xdbe1ebe6u, 0xe681c256u, 0x54a11e46u, 0x69c137f6u,
        0x2e614d26u, 0x13016496u, 0x9151f347u, 0xac31daf7u, 0xeb91a027u, 0xd6f18997u,
        0x64d15587u, 0x59b17c37u, 0x1e1106e7u, 0x23712f57u, 0x58f35849u, 0x659371f9u,
        0x22330b29u, 0x1f532299u, 0xad73fe89u, 0x9013d739u, 0xd7b3ade9u, 0xead38459u,
        0x68831388u, 0x55e33a38u, 0x124340e8u, 0x2f236958u, 0x9d03b548u, 0xa0639cf8u,
        0xe7c3e628u, 0xdaa3cf98u, 0x3813cfcbu, 0x0573e67bu, 0x42d39cabu, 0x7fb3b51bu,
        0xcd93690bu, 0xf0f340bbu, 0xb7533a6bu, 0x8a3313dbu, 0x0863840au, 0x3503adbau,
        0x72a3d76au, 0x4fc3fedau, 0xfde322cau, 0xc0830b7au, 0x872371aau, 0xba43581au,
        0x9932774du, 0xa4525efdu, 0xe3f2242du, 0xde920d9du, 0x6cb2d18du, 0x51d2f83du,
        0x167282edu, 0x2b12ab5du, 0xa9423c8cu, 0x9422153cu, 0xd3826fecu, 0xeee2465cu,
        0x5cc29a4cu, 0x61a2b3fcu, 0x2602c92cu, 0x1b62e09cu, 0xf9d2e0cfu, 0xc4b2c97fu,
        0x8312b3afu, 0xbe729a1fu, 0x0c52460fu, 0x31326fbfu, 0x7692156fu, 0x4bf23cdfu,
        0xc9a2ab0eu, 0xf4c282beu, 0xb362f86eu, 0x8e02d1deu, 0x3c220dceu, 0x0142247eu,
        0x46e25eaeu, 0x7b82771eu, 0xb1e6b092u, 0x8c869922u, 0xcb26e3f2u, 0xf646ca42u,
        0x44661652u, 0x79063fe2u, 0x3ea64532u, 0x03c66c82u, 0x8196fb53u, 0xbcf6d2e3u,
        0xfb56a833u, 0xc6368183u, 0x74165d93u, 0x49767423u, 0x0ed60ef3u, 0x33b62743u,
        0xd1062710u, 0xec660ea0u, 0xabc67470u, 0x96a65dc0u, 0x248681d0u, 0x19e6a860u,
        0x5e46d2b0u, 0x6326fb00u, 0xe1766cd1u, 0xdc164561u, 0x9bb63fb1u, 0xa6d61601u,
        0x14f6ca11u, 0x2996e3a1u, 0x6e369971u, 0x5356b0c1u, 0x70279f96u, 0x4d47b626u,
        0x0ae7ccf6u, 0x3787e546u, 0x85a73956u, 0xb8c710e6u, 0xff676a36u, 0xc2074386u,
        0x4057d457u, 0x7d37fde7u, 0x3a978737u, 0x07f7ae87u, 0xb5d77297u, 0x88b75b27u,
        0xcf1721f7u, 0xf2770847u, 0x10c70814u, 0x2da721a4u, 0x6a075b74u, 0x576772c4u,
        0xe547aed4u, 0xd8278764u, 0x9f87fdb4u, 0xa2e7d404u, 0x20b743d5u, 0x1dd76a65u,
        0x5a7710b5u, 0x67173905u, 0xd537e515u, 0xe857cca5u, 0xaff7b675u, 0x92979fc5u,
        0xe915e8dbu, 0xd475c16bu, 0x93d5bbbbu, 0xaeb5920bu, 0x1c954e1bu, 0x21f567abu,
        0x66551d7bu, 0x5b3534cbu, 0xd965a31au, 0xe4058aaau, 0xa3a5f07au, 0x9ec5d9cau,
        0x2ce505dau, 0x11852c6au, 0x562556bau, 0x6b457f0au, 0x89f57f59u, 0xb49556e9u,
        0xf3352c39u, 0xce550589u, 0x7c75d999u, 0x4115f029u, 0x06b58af9u, 0x3bd5a349u,
        0xb9853498u, 0x84e51d28u, 0xc34567f8u, 0xfe254e48u, 0x4c059258u, 0x7165bbe8u,
        0x36c5c138u, 0x0ba5e888u, 0x28d4c7dfu, 0x15b4ee6fu, 0x521494bfu, 0x6f74bd0fu,
        0xdd54611fu, 0xe03448afu, 0xa794327fu, 0x9af41bcfu, 0x18a48c1eu, 0x25c4a5aeu,
        0x6264df7eu, 0x5f04f6ceu, 0xed242adeu, 0xd044036eu, 0x97e479beu, 0xaa84500eu,
        0x4834505du, 0x755479edu, 0x32f4033du, 0x0f942a8du, 0xbdb4f69du, 0x80d4df2du,
        0xc774a5fdu, 0xfa148c4du, 0x78441b9cu, 0x4524322cu, 0x028448fcu, 0x3fe4614cu,
        0x8dc4bd5cu, 0xb0a494ecu, 0xf704ee3cu, 0xca64c78cu,
    },
    {
        0x00000000u, 0xcb5cd3a5u, 0x4dc8a10bu, 0x869472aeu, 0x9b914216u, 0x50cd91b3u,
        0xd659e31du, 0x1d0530b8u, 0xec53826du, 0x270f51c8u, 0xa19b2366u, 0x6ac7f0c3u,
        0x77c2c07bu, 0xbc9e13deu, 0x3a0a6170u, 0xf156b2d5u, 0x03d6029bu, 0xc88ad13eu,
        0x4e1ea390u, 0x85427035u, 0x9847408du, 0x531b9328u, 0xd58fe186u, 0x1ed33223u,
        0xef8580f6u, 0x24d95353u, 0xa24d21fdu, 0x6911f258u, 0x7414c2e0u, 0xbf481145u,
        0x39dc63ebu, 0xf280b04eu, 0x07ac0536u, 0xccf0d693u, 0x4a64a43du, 0x81387798u,
        0x9c3d4720u, 0x57619485u, 0xd1f5e62bu, 0x1aa9358eu, 0xebff875bu, 0x20a354feu,
        0xa6372650u, 0x6d6bf5f5u, 0x706ec54du, 0xbb3216e8u, 0x3da66446u, 0xf6fab7e3u,
        0x047a07adu, 0xcf26d408u, 0x49b2a6a6u, 0x82ee7503u, 0x9feb45bbu, 0x54b7961eu,
        0xd223e4b0u, 0x197f3715u, 0xe82985c0u, 0x23755665u, 0xa5e124cbu, 0x6ebdf76eu,
        0x73b8c7d6u, 0xb8e41473u, 0x3e7066ddu, 0xf52cb578u, 0x0f580a6cu, 0xc404d9c9u,
        0x4290ab67u, 0x89cc78c2u, 0x94c9487au, 0x5f959bdfu, 0xd901e971u, 0x125d3ad4u,
        0xe30b8801u, 0x28575ba4u, 0xaec3290au, 0x659ffaafu, 0x789aca17u, 0xb3c619b2u,
        0x35526b1cu, 0xfe0eb8b9u, 0x0c8e08f7u, 0xc7d2db52u, 0x4146a9fcu, 0x8a1a7a59u,
        0x971f4ae1u, 0x5c439944u, 0xdad7ebeau, 0x118b384fu, 0xe0dd8a9au, 0x2b81593fu,
        0xad152b91u, 0x6649f834u, 0x7b4cc88cu, 0xb0101b29u, 0x36846987u, 0xfdd8ba22u,
        0x08f40f5au, 0xc3a8dcffu, 0x453cae51u, 0x8e607df4u, 0x93654d4cu, 0x58399ee9u,
        0xdeadec47u, 0x15f13fe2u, 0xe4a78d37u, 0x2ffb5e92u, 0xa96f2c3cu, 0x6233ff99u,
        0x7f36cf21u, 0xb46a1c84u, 0x32fe6e2au, 0xf9a2bd8fu, 0x0b220dc1u, 0xc07ede64u,
        0x46eaaccau, 0x8db67f6fu, 0x90b34fd7u, 0x5bef9c72u, 0xdd7beedcu, 0x16273d79u,
        0xe7718facu, 0x2c2d5c09u, 0xaab92ea7u, 0x61e5fd02u, 0x7ce0cdbau, 0xb7bc1e1fu,
        0x31286cb1u, 0xfa74bf14u, 0x1eb014d8u, 0xd5ecc77du, 0x5378b5d3u, 0x98246676u,
        0x852156ceu, 0x4e7d856bu, 0xc8e9f7c5u, 0x03b52460u, 0xf2e396b5u, 0x39bf4510u,
        0xbf2b37beu, 0x7477e41bu, 0x6972d4a3u, 0xa22e0706u, 0x24ba75a8u, 0xefe6a60du,
        0x1d661643u, 0xd63ac5e6u, 0x50aeb748u, 0x9bf264edu, 0x86f75455u, 0x4dab87f0u,
        0xcb3ff55eu, 0x006326fbu, 0xf135942eu, 0x3a69478bu, 0xbcfd3525u, 0x77a1e680u,
        0x6aa4d638u, 0xa1f8059du, 0x276c7733u, 0xec30a496u, 0x191c11eeu, 0xd240c24bu,
        0x54d4b0e5u, 0x9f886340u, 0x828d53f8u, 0x49d1805du, 0xcf45f2f3u, 0x04192156u,
        0xf54f9383u, 0x3e134026u, 0xb8873288u, 0x73dbe12du, 0x6eded195u, 0xa5820230u,
        0x2316709eu, 0xe84aa33bu, 0x1aca1375u, 0xd196c0d0u, 0x5702b27eu, 0x9c5e61dbu,
        0x815b5163u, 0x4a0782c6u, 0xcc93f068u, 0x07cf23cdu, 0xf6999118u, 0x3dc542bdu,
        0xbb513013u, 0x700de3b6u, 0x6d08d30eu, 0xa65400abu, 0x20c07205u, 0xeb9ca1a0u,
        0x11e81eb4u, 0xdab4cd11u, 0x5c20bfbfu, 0x977c6c1au, 0x8a795ca2u, 0x41258f07u,
        0xc7b1fda9u, 0x0ced2e0cu, 0xfdbb9cd9u, 0x36e74f7cu, 0xb0733dd2u, 0x7b2fee77u,
        0x662adecfu, 0xad760d6au, 0x2be27fc4u, 0xe0beac61u, 0x123e1c2fu, 0xd962cf8au,
        0x5ff6bd24u, 0x94aa6e81u, 0x89af5e39u, 0x42f38d9cu, 0xc467ff32u, 0x0f3b2c97u,
        0xfe6d9e42u, 0x35314de7u, 0xb3a53f49u, 0x78f9ececu, 0x65fcdc54u, 0xaea00ff1u,
        0x28347d5fu, 0xe368aefau, 0x16441b82u, 0xdd18c827u, 0x5b8cba89u, 0x90d0692cu,
        0x8dd55994u, 0x46898a31u, 0xc01df89fu, 0x0b412b3au, 0xfa1799efu, 0x314b4a4au,
        0xb7df38e4u, 0x7c83eb41u, 0x6186dbf9u, 0xaada085cu, 0x2c4e7af2u, 0xe712a957u,
        0x15921919u, 0xdececabcu, 0x585ab812u, 0x93066bb7u, 0x8e035b0fu, 0x455f88aau,
        0xc3cbfa04u, 0x089729a1u, 0xf9c19b74u, 0x329d48d1u, 0xb4093a7fu, 0x7f55e9dau,
        0x6250d962u, 0xa90c0ac7u, 0x2f987869u, 0xe4c4abccu,
    },
    {
        0x00000000u, 0xa6770bb4u, 0x979f1129u, 0x31e81a9du, 0xf44f2413u, 0x52382fa7u,
        0x63d0353au, 0xc5a73e8eu, 0x33ef4e67u, 0x959845d3u, 0xa4705f4eu, 0x020754fau,
        0xc7a06a74u, 0x61d761c0u, 0x503f7b5du, 0xf64870e9u, 0x67de9cceu, 0xc1a9977au,
        0xf0418de7u, 0x56368653u, 0x9391b8ddu, 0x35e6b369u, 0x040ea9f4u, 0xa279a240u,
        0x5431d2a9u, 0xf246d91du, 0xc3aec380u, 0x65d9c834u, 0xa07ef6bau, 0x0609fd0eu,
        0x37e1e793u, 0x9196ec27u, 0xcfbd399cu, 0x69ca3228u, 0x582228b5u, 0xfe552301u,
        0x3bf21d8fu, 0x9d85163bu, 0xac6d0ca6u, 0x0a1a0712u, 0xfc5277fbu, 0x5a257c4fu,
        0x6bcd66d2u, 0xcdba6d66u, 0x081d53e8u, 0xae6a585cu, 0x9f8242c1u, 0x39f54975u,
        0xa863a552u, 0x0e14aee6u, 0x3ffcb47bu, 0x998bbfcfu, 0x5c2c8141u, 0xfa5b8af5u,
        0xcbb39068u, 0x6dc49bdcu, 0x9b8ceb35u, 0x3dfbe081u, 0x0c13fa1cu, 0xaa64f1a8u,
        0x6fc3cf26u, 0xc9b4c492u, 0xf85cde0fu, 0x5e2bd5bbu, 0x440b7579u, 0xe27c7ecdu,
        0xd3946450u, 0x75e36fe4u, 0xb044516au, 0x16335adeu, 0x27db4043u, 0x81ac4bf7u,
        0x77e43b1eu, 0xd19330aau, 0xe07b2a37u, 0x460c2183u, 0x83ab1f0du, 0x25dc14b9u,
        0x14340e24u, 0xb2430590u, 0x23d5e9b7u, 0x85a2e203u, 0xb44af89eu, 0x123df32au,
        0xd79acda4u, 0x71edc610u, 0x4005dc8du, 0xe672d739u, 0x103aa7d0u, 0xb64dac64u,
        0x87a5b6f9u, 0x21d2bd4du, 0xe47583c3u, 0x42028877u, 0x73ea92eau, 0xd59d995eu,
        0x8bb64ce5u, 0x2dc14751u, 0x1c295dccu, 0xba5e5678u, 0x7ff968f6u, 0xd98e6342u,
        0xe86679dfu, 0x4e11726bu, 0xb8590282u, 0x1e2e0936u, 0x2fc613abu, 0x89b1181fu,
        0x4c162691u, 0xea612d25u, 0xdb8937b8u, 0x7dfe3c0cu, 0xec68d02bu, 0x4a1fdb9fu,
        0x7bf7c102u, 0xdd80cab6u, 0x1827f438u, 0xbe50ff8cu, 0x8fb8e511u, 0x29cfeea5u,
        0xdf879e4cu, 0x79f095f8u, 0x48188f65u, 0xee6f84d1u, 0x2bc8ba5fu, 0x8dbfb1ebu,
        0xbc57ab76u, 0x1a20a0c2u, 0x8816eaf2u, 0x2e61e146u, 0x1f89fbdbu, 0xb9fef06fu,
        0x7c59cee1u, 0xda2ec555u, 0xebc6dfc8u, 0x4db1d47cu, 0xbbf9a495u, 0x1d8eaf21u,
        0x2c66b5bcu, 0x8a11be08u, 0x4fb68086u, 0xe9c18b32u, 0xd82991afu, 0x7e5e9a1bu,
        0xefc8763cu, 0x49bf7d88u, 0x78576715u, 0xde206ca1u, 0x1b87522fu, 0xbdf0599bu,
        0x8c184306u, 0x2a6f48b2u, 0xdc27385bu, 0x7a5033efu, 0x4bb82972u, 0xedcf22c6u,
        0x28681c48u, 0x8e1f17fcu, 0xbff70d61u, 0x198006d5u, 0x47abd36eu, 0xe1dcd8dau,
        0xd034c247u, 0x7643c9f3u, 0xb3e4f77du, 0x1593fcc9u, 0x247be654u, 0x820cede0u,
        0x74449d09u, 0xd23396bdu, 0xe3db8c20u, 0x45ac8794u, 0x800bb91au, 0x267cb2aeu,
        0x1794a833u, 0xb1e3a387u, 0x20754fa0u, 0x86024414u, 0xb7ea5e89u, 0x119d553du,
        0xd43a6bb3u, 0x724d6007u, 0x43a57a9au, 0xe5d2712eu, 0x139a01c7u, 0xb5ed0a73u,
        0x840510eeu, 0x22721b5au, 0xe7d525d4u, 0x41a22e60u, 0x704a34fdu, 0xd63d3f49u,
        0xcc1d9f8bu, 0x6a6a943fu, 0x5b828ea2u, 0xfdf58516u, 0x3852bb98u, 0x9e25b02cu,
        0xafcdaab1u, 0x09baa105u, 0xfff2d1ecu, 0x5985da58u, 0x686dc0c5u, 0xce1acb71u,
        0x0bbdf5ffu, 0xadcafe4bu, 0x9c22e4d6u, 0x3a55ef62u, 0xabc30345u, 0x0db408f1u,
        0x3c5c126cu, 0x9a2b19d8u, 0x5f8c2756u, 0xf9fb2ce2u, 0xc813367fu, 0x6e643dcbu,
        0x982c4d22u, 0x3e5b4696u, 0x0fb35c0bu, 0xa9c457bfu, 0x6c636931u, 0xca146285u,
        0xfbfc7818u, 0x5d8b73acu, 0x03a0a617u, 0xa5d7ada3u, 0x943fb73eu, 0x3248bc8au,
        0xf7ef8204u, 0x519889b0u, 0x6070932du, 0xc6079899u, 0x304fe870u, 0x9638e3c4u,
        0xa7d0f959u, 0x01a7f2edu, 0xc400cc63u, 0x6277c7d7u, 0x539fdd4au, 0xf5e8d6feu,
        0x647e3ad9u, 0xc209316du, 0xf3e12bf0u, 0x55962044u, 0x90311ecau, 0x3646157eu,
        0x07ae0fe3u, 0xa1d90457u, 0x579174beu, 0xf1e67f0au, 0xc00e6597u, 0x66796e23u,
        0xa3de50adu, 0x05a95b19u, 0x34414184u, 0x92364a30u,
    },
    {
        0x00000000u, 0xccaa009eu, 0x4225077du, 0x8e8f07e3u, 0x844a0efau, 0x48e00e64u,
        0xc66f0987u, 0x0ac50919u, 0xd3e51bb5u, 0x1f4f1b2bu, 0x91c01cc8u, 0x5d6a1c56u,
        0x57af154fu, 0x9b0515d1u, 0x158a1232u, 0xd92012acu, 0x7cbb312bu, 0xb01131b5u,
        0x3e9e3656u, 0xf23436c8u, 0xf8f13fd1u, 0x345b3f4fu, 0xbad438acu, 0x767e3832u,
        0xaf5e2a9eu, 0x63f42a00u, 0xed7b2de3u, 0x21d12d7du, 0x2b142464u, 0xe7be24fau,
        0x69312319u, 0xa59b2387u, 0xf9766256u, 0x35dc62c8u, 0xbb53652bu, 0x77f965b5u,
        0x7d3c6cacu, 0xb1966c32u, 0x3f196bd1u, 0xf3b36b4fu, 0x2a9379e3u, 0xe639797du,
        0x68b67e9eu, 0xa41c7e00u, 0xaed97719u, 0x62737787u, 0xecfc7064u, 0x205670fau,
        0x85cd537du, 0x496753e3u, 0xc7e85400u, 0x0b42549eu, 0x01875d87u, 0xcd2d5d19u,
        0x43a25afau, 0x8f085a64u, 0x562848c8u, 0x9a824856u, 0x140d4fb5u, 0xd8a74f2bu,
        0xd2624632u, 0x1ec846acu, 0x9047414fu, 0x5ced41d1u, 0x299dc2edu, 0xe537c273u,
        0x6bb8c590u, 0xa712c50eu, 0xadd7cc17u, 0x617dcc89u, 0xeff2cb6au, 0x2358cbf4u,
        0xfa78d958u, 0x36d2d9c6u, 0xb85dde25u, 0x74f7debbu, 0x7e32d7a2u, 0xb298d73cu,
        0x3c17d0dfu, 0xf0bdd041u, 0x5526f3c6u, 0x998cf358u, 0x1703f4bbu, 0xdba9f425u,
        0xd16cfd3cu, 0x1dc6fda2u, 0x9349fa41u, 0x5fe3fadfu, 0x86c3e873u, 0x4a69e8edu,
        0xc4e6ef0eu, 0x084cef90u, 0x0289e689u, 0xce23e617u, 0x40ace1f4u, 0x8c06e16au,
        0xd0eba0bbu, 0x1c41a025u, 0x92cea7c6u, 0x5e64a758u, 0x54a1ae41u, 0x980baedfu,
        0x1684a93cu, 0xda2ea9a2u, 0x030ebb0eu, 0xcfa4bb90u, 0x412bbc73u, 0x8d81bcedu,
        0x8744b5f4u, 0x4beeb56au, 0xc561b289u, 0x09cbb217u, 0xac509190u, 0x60fa910eu,
        0xee7596edu, 0x22df9673u, 0x281a9f6au, 0xe4b09ff4u, 0x6a3f9817u, 0xa6959889u,
        0x7fb58a25u, 0xb31f8abbu, 0x3d908d58u, 0xf13a8dc6u, 0xfbff84dfu, 0x37558441u,
        0xb9da83a2u, 0x7570833cu, 0x533b85dau, 0x9f918544u, 0x111e82a7u, 0xddb48239u,
        0xd7718b20u, 0x1bdb8bbeu, 0x95548c5du, 0x59fe8cc3u, 0x80de9e6fu, 0x4c749ef1u,
        0xc2fb9912u, 0x0e51998cu, 0x04949095u, 0xc83e900bu, 0x46b197e8u, 0x8a1b9776u,
        0x2f80b4f1u, 0xe32ab46fu, 0x6da5b38cu, 0xa10fb312u, 0xabcaba0bu, 0x6760ba95u,
        0xe9efbd76u, 0x2545bde8u, 0xfc65af44u, 0x30cfafdau, 0xbe40a839u, 0x72eaa8a7u,
        0x782fa1beu, 0xb485a120u, 0x3a0aa6c3u, 0xf6a0a65du, 0xaa4de78cu, 0x66e7e712u,
        0xe868e0f1u, 0x24c2e06fu, 0x2e07e976u, 0xe2ade9e8u, 0x6c22ee0bu, 0xa088ee95u,
        0x79a8fc39u, 0xb502fca7u, 0x3b8dfb44u, 0xf727fbdau, 0xfde2f2c3u, 0x3148f25du,
        0xbfc7f5beu, 0x736df520u, 0xd6f6d6a7u, 0x1a5cd639u, 0x94d3d1dau, 0x5879d144u,
        0x52bcd85du, 0x9e16d8c3u, 0x1099df20u, 0xdc33dfbeu, 0x0513cd12u, 0xc9b9cd8cu,
        0x4736ca6fu, 0x8b9ccaf1u, 0x8159c3e8u, 0x4df3c376u, 0xc37cc495u, 0x0fd6c40bu,
        0x7aa64737u, 0xb60c47a9u, 0x3883404au, 0xf42940d4u, 0xfeec49cdu, 0x32464953u,
        0xbcc94eb0u, 0x70634e2eu, 0xa9435c82u, 0x65e95c1cu, 0xeb665bffu, 0x27cc5b61u,
        0x2d095278u, 0xe1a352e6u, 0x6f2c5505u, 0xa386559bu, 0x061d761cu, 0xcab77682u,
        0x44387161u, 0x889271ffu, 0x825778e6u, 0x4efd7878u, 0xc0727f9bu, 0x0cd87f05u,
        0xd5f86da9u, 0x19526d37u, 0x97dd6ad4u, 0x5b776a4au, 0x51b26353u, 0x9d1863cdu,
        0x1397642eu, 0xdf3d64b0u, 0x83d02561u, 0x4f7a25ffu, 0xc1f5221cu, 0x0d5f2282u,
        0x079a2b9bu, 0xcb302b05u, 0x45bf2ce6u, 0x89152c78u, 0x50353ed4u, 0x9c9f3e4au,
        0x121039a9u, 0xdeba3937u, 0xd47f302eu, 0x18d530b0u, 0x965a3753u, 0x5af037cdu,
        0xff6b144au, 0x33c114d4u, 0xbd4e1337u, 0x71e413a9u, 0x7b211ab0u, 0xb78b1a2eu,
        0x39041dcdu, 0xf5ae1d53u, 0x2c8e0fffu, 0xe0240f61u, 0x6eab0882u, 0xa201081cu,
        0xa8c40105u, 0x646e019bu, 0xeae10678u, 0x264b06e6u,
    },
};
/* END generated by c_reader/tools/gen_crc_table.py */

#define KWB__CRC_FOLD8(w)                                                                      \
    (kwb__crc_table[7][(w)&0xFF] ^ kwb__crc_table[6][((w) >> 8) & 0xFF] ^                     \
     kwb__crc_table[5][((w) >> 16) & 0xFF] ^ kwb__crc_table[4][((w) >> 24) & 0xFF] ^          \
     kwb__crc_table[3][((w) >> 32) & 0xFF] ^ kwb__crc_table[2][((w) >> 40) & 0xFF] ^          \
     kwb__crc_table[1][((w) >> 48) & 0xFF] ^ kwb__crc_table[0][(w) >> 56])

/* Slicing-by-8 on the inverted register `c`. */
static uint32_t kwb__crc_run(uint32_t c, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w = kwb__u64(p) ^ c;
        c = KWB__CRC_FOLD8(w);
        p += 8;
        n -= 8;
    }
    while (n--) c = kwb__crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c;
}

/* a * b modulo the CRC polynomial, in CRC-32's reflected bit order. */
static uint32_t kwb__crc_mul(uint32_t a, uint32_t b)
{
    uint32_t product = 0, bit = 0x80000000u;
    int i;
    for (i = 0; i < 32; i++, bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b & 1) ? (b >> 1) ^ 0xEDB88320u : b >> 1;
    }
    return product;
}

/* x^(8n) modulo the polynomial: what appending n zero bytes multiplies by. */
static uint32_t kwb__crc_shift(uint64_t n)
{
    uint32_t result = 0x80000000u, square = 0x00800000u; /* x^0, x^8 */
    for (; n; n >>= 1) {
        if (n & 1) result = kwb__crc_mul(square, result);
        square = kwb__crc_mul(square, square);
    }
    return result;
}

/* One slicing-by-8 chain is latency-bound; four independent lanes over the
   four quarters of a long buffer run in parallel and are then joined
   (CRC(A B) = CRC(A) * x^(8|B|) + CRC(B), by linearity). */
KWBIN_API uint32_t kwb_crc32(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    if (size >= 16384) {
        size_t lane = (size / 4) & ~(size_t)7, j;
        const unsigned char *p1 = p + lane, *p2 = p1 + lane, *p3 = p2 + lane;
        uint32_t c1 = 0, c2 = 0, c3 = 0, shift;
        for (j = 0; j < lane; j += 8) {
            uint64_t w0 = kwb__u64(p + j) ^ c, w1 = kwb__u64(p1 + j) ^ c1;
            uint64_t w2 = kwb__u64(p2 + j) ^ c2, w3 = kwb__u64(p3 + j) ^ c3;
            c = KWB__CRC_FOLD8(w0);
            c1 = KWB__CRC_FOLD8(w1);
            c2 = KWB__CRC_FOLD8(w2);
            c3 = KWB__CRC_FOLD8(w3);
        }
        shift = kwb__crc_shift(lane);
        c = kwb__crc_mul(shift, c) ^ c1;
        c = kwb__crc_mul(shift, c) ^ c2;
        c = kwb__crc_mul(shift, c) ^ c3;
        p += 4 * lane;
        size -= 4 * lane;
    }
    return ~kwb__crc_run(c, p, size);
}

/* ---- names -------------------------------------------------------------- */

KWBIN_API const char *kwb_result_string(kwb_result r)
{
    /* Format errors spell exactly the spec's error names. */
    static const char *const names[] = {
        "ok",           "not_kwbin",      "truncated",     "byte_order",
        "version",      "bad_header",     "bad_alignment", "bad_section",
        "trailing_bytes", "header_checksum", "bad_string", "bad_metadata",
        "bad_layer",    "bad_tensor",     "size_overflow", "tensor_overlap",
        "tensor_gap",   "bad_payload",    "duplicate_name", "bad_padding",
        "tensor_checksum", "io",          "out_of_memory", "invalid_argument",
        "not_found",    "unsupported_dtype", "needs_memory",
    };
    unsigned i = (unsigned)r;
    return i < sizeof names / sizeof names[0] ? names[i] : "unknown";
}

static const unsigned char kwb__dtype_sizes[14] = {0, 4, 2, 2, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1};

KWBIN_API size_t kwb_dtype_size(kwb_dtype d)
{
    unsigned i = (unsigned)d;
    return i < sizeof kwb__dtype_sizes ? kwb__dtype_sizes[i] : 0;
}

KWBIN_API const char *kwb_dtype_name(kwb_dtype d)
{
    static const char *const names[] = {
        NULL,    "float32", "float16", "bfloat16", "float64", "int8",   "int16",
        "int32", "int64",   "uint8",   "uint16",   "uint32",  "uint64", "bool",
    };
    unsigned i = (unsigned)d;
    return i < sizeof names / sizeof names[0] ? names[i] : NULL;
}

/* ---- UTF-8 (RFC 3629, as strict as Python's decoder) -------------------- */

/* The offset of the first byte that does not start a valid character, or n. */
static size_t kwb__utf8_error_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t more, k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c >= 0xE0 && c <= 0xEF) more = 2;
        else if (c >= 0xF0 && c <= 0xF4) more = 3;
        else return i; /* continuation byte, overlong C0/C1, or above U+10FFFF */
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* surrogates D800-DFFF */
        else if (c == 0xF0) lo = 0x90; /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
        if (more > n - i - 1) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (k = 2; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += more + 1;
    }
    return n;
}

static int kwb__utf8_valid(const unsigned char *s, size_t n) { return kwb__utf8_error_at(s, n) == n; }

/* ---- JSON: spec section 2, without recursion or allocation ------------- */

#define KWB__JSON_MAX_DEPTH 64

static int kwb__json_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static size_t kwb__json_ws(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* The 4 hex digits at s[i..i+4) (i <= n), or 0x10000 if they are not. */
static unsigned kwb__json_hex4(const unsigned char *s, size_t n, size_t i)
{
    unsigned value = 0;
    size_t k;
    if (n - i < 4) return 0x10000u;
    for (k = i; k < i + 4; k++) {
        unsigned char h = s[k];
        if (kwb__json_digit(h)) value = value * 16u + (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f') value = value * 16u + (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') value = value * 16u + (unsigned)(h - 'A' + 10);
        else return 0x10000u;
    }
    return value;
}

/* The string whose opening quote is at i-1; returns the index after its
   closing quote, or 0.  Raw bytes >= 0x80 are fine (the text is already
   valid UTF-8); raw control characters are not, nor surrogate escapes
   other than a high one followed by a low one (spec section 2, rule 3). */
static size_t kwb__json_string(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        unsigned char c = s[i++];
        if (c == '"') return i;
        if (c < 0x20) return 0;
        if (c != '\\') continue;
        if (i >= n) return 0;
        c = s[i++];
        if (c == 'u') {
            unsigned u = kwb__json_hex4(s, n, i);
            i += 4;
            if (u > 0xFFFFu || (u >= 0xDC00u && u <= 0xDFFFu)) return 0; /* bad hex; low alone */
            if (u >= 0xD800u && u <= 0xDBFFu) { /* a high surrogate: an escaped low must follow */
                if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return 0;
                u = kwb__json_hex4(s, n, i + 2);
                if (u < 0xDC00u || u > 0xDFFFu) return 0;
                i += 6;
            }
        } else if (!memchr("\"\\/bfnrt", c, 8)) {
            return 0;
        }
    }
    return 0;
}

/* 2^1024 - 2^970, the least magnitude that rounds to an infinite double
   (half-way between DBL_MAX and 2^1024; ties go to the even 2^1024). */
static const char kwb__json_first_infinite[] =
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
    "017977587207096330286416692887910946555547851940402630657488671505820681908902000708383"
    "676273854845817711531764475730270069855571366959622842914819860834936475292719074168444"
    "365510704342711559699508093042880177904174497792";

/* Digit k of the digits s[a..b) followed by s[c..c+m), '0' past them. */
static unsigned char kwb__json_digit_at(const unsigned char *s, size_t a, size_t b, size_t c,
                                        size_t m, size_t k)
{
    if (k < b - a) return s[a + k];
    return k - (b - a) < m ? s[c + k - (b - a)] : (unsigned char)'0';
}

/* Does the number with integer digits s[a..b), fraction digits s[c..c+m)
   and exponent e (saturated) round to a finite double (spec section 2,
   rule 4)?  Exact decimal arithmetic: no strtod, no locale, no rounding. */
static int kwb__json_finite(const unsigned char *s, size_t a, size_t b, size_t c, size_t m,
                            long long e)
{
    size_t total = (b - a) + m, zeros = 0, k;
    long long magnitude; /* the value is 0.d1d2... x 10^magnitude, d1 != 0 */
    while (zeros < total && kwb__json_digit_at(s, a, b, c, m, zeros) == '0') zeros++;
    if (zeros == total) return 1; /* zero */
    magnitude = (long long)(b - a) - (long long)zeros + e;
    if (magnitude != 309) return magnitude < 309;
    for (k = 0; k < sizeof kwb__json_first_infinite - 1; k++) {
        unsigned char d = kwb__json_digit_at(s, a, b, c, m, zeros + k);
        unsigned char t = (unsigned char)kwb__json_first_infinite[k];
        if (d != t) return d < t;
    }
    return 0; /* equal to the bound in its 309 digits, so at least the bound */
}

/* RFC 8259 number starting at i, finite as a double; returns the index
   after it, or 0. */
static size_t kwb__json_number(const unsigned char *s, size_t n, size_t i)
{
    size_t a, b, c = 0, m = 0;
    long long e = 0;
    if (i < n && s[i] == '-') i++;
    a = i;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && kwb__json_digit(s[i])) i++;
    } else {
        return 0;
    }
    b = i;
    if (i < n && s[i] == '.') {
        if (++i >= n || !kwb__json_digit(s[i])) return 0;
        c = i;
        while (i < n && kwb__json_digit(s[i])) i++;
        m = i - c;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int negative = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
        if (i >= n || !kwb__json_digit(s[i])) return 0;
        for (; i < n && kwb__json_digit(s[i]); i++)
            if (e < 1000000000000000LL) e = e * 10 + (s[i] - '0'); /* saturates: only the sign matters */
        if (negative) e = -e;
    }
    return kwb__json_finite(s, a, b, c, m, e) ? i : 0;
}

static size_t kwb__json_literal(const unsigned char *s, size_t n, size_t i, const char *word)
{
    size_t len = strlen(word);
    return (len <= n - i && memcmp(s + i, word, len) == 0) ? i + len : 0;
}

/* Is s[0..n) one JSON object nested at most 64 deep?  A state machine; the
   kind of each open container is one bit of `objects` (64 levels fit). */
static int kwb__json_object(const unsigned char *s, size_t n)
{
    enum { VALUE, FIRST_KEY, KEY, FIRST_ELEMENT, AFTER_VALUE } state = VALUE;
    uint64_t objects = 0;
    unsigned depth = 0;
    size_t i = kwb__json_ws(s, n, 0);
    if (i >= n || s[i] != '{') return 0; /* the top level must be an object */
    for (;;) {
        unsigned char c;
        i = kwb__json_ws(s, n, i);
        switch (state) {
        case VALUE:
            if (i >= n) return 0;
            c = s[i];
            if (c == '{' || c == '[') {
                if (depth == KWB__JSON_MAX_DEPTH) return 0;
                if (c == '{') objects |= (uint64_t)1 << depth;
                else objects &= ~((uint64_t)1 << depth);
                depth++;
                i++;
                state = c == '{' ? FIRST_KEY : FIRST_ELEMENT;
                continue;
            }
            if (c == '"') i = kwb__json_string(s, n, i + 1);
            else if (c == 't') i = kwb__json_literal(s, n, i, "true");
            else if (c == 'f') i = kwb__json_literal(s, n, i, "false");
            else if (c == 'n') i = kwb__json_literal(s, n, i, "null");
            else i = kwb__json_number(s, n, i); /* NaN, Infinity: not numbers */
            if (!i) return 0;
            state = AFTER_VALUE;
            continue;
        case FIRST_KEY:
            if (i < n && s[i] == '}') {
                i++;
                depth--;
                state = AFTER_VALUE;
                continue;
            }
            /* fall through */
        case KEY:
            if (i >= n || s[i] != '"') return 0;
            i = kwb__json_string(s, n, i + 1);
            if (!i) return 0;
            i = kwb__json_ws(s, n, i);
            if (i >= n || s[i] != ':') return 0;
            i++;
            state = VALUE;
            continue;
        case FIRST_ELEMENT:
            if (i < n && s[i] == ']') {
                i++;
                depth--;
                state = AFTER_VALUE;
                continue;
            }
            state = VALUE;
            continue;
        case AFTER_VALUE:
            if (depth == 0) return i == n;
            if (i >= n) return 0;
            c = s[i++];
            if ((objects >> (depth - 1)) & 1) {
                if (c == ',') state = KEY;
                else if (c == '}') depth--;
                else return 0;
            } else {
                if (c == ',') state = VALUE;
                else if (c == ']') depth--;
                else return 0;
            }
            continue;
        }
    }
}

/* ---- small helpers ------------------------------------------------------ */

/* The offset of the first non-zero byte of p[0..n), or n. */
static size_t kwb__first_nonzero(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i]) return i;
    return n;
}

static int kwb__all_zero(const unsigned char *p, size_t n) { return kwb__first_nonzero(p, n) == n; }

/* Round v up to a power of two a; *out undefined and 0 returned on overflow. */
static int kwb__align_up(uint64_t v, uint64_t a, uint64_t *out)
{
    if (v > KWB__U64_MAX - (a - 1)) return 0;
    *out = (v + (a - 1)) & ~(a - 1);
    return 1;
}

static int kwb__little_endian_host(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* The allocator of opt_ (the lookup index, kwb_open_path's buffer). */
static void *kwb__alloc(const kwb_file *f, size_t size)
{
    return f->opt_.alloc_fn ? f->opt_.alloc_fn(size, f->opt_.user_data) : KWBIN_MALLOC(size);
}

static void kwb__free(const kwb_file *f, void *ptr)
{
    if (!ptr) return;
    if (f->opt_.free_fn) f->opt_.free_fn(ptr, f->opt_.user_data);
    else KWBIN_FREE(ptr);
}

static const unsigned char *kwb__layer_record(const kwb_file *f, uint32_t i)
{
    return f->data + (size_t)f->layers_offset_ + (size_t)i * f->layer_record_size_;
}

static const unsigned char *kwb__tensor_record(const kwb_file *f, uint32_t i)
{
    return f->data + (size_t)f->tensors_offset_ + (size_t)i * f->tensor_record_size_;
}

static const unsigned char *kwb__strings(const kwb_file *f)
{
    return f->data + (size_t)f->strings_offset_;
}

/* ---- the message: what was found where ----------------------------------- */

/* Appends n bytes, control characters as '?', as many as fit. */
static void kwb__msg_put(kwb_file *f, const char *s, size_t n)
{
    size_t len = strlen(f->message), i;
    for (i = 0; i < n && len + 1 < KWB_MESSAGE_SIZE; i++) {
        unsigned char c = (unsigned char)s[i];
        f->message[len++] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    f->message[len] = '\0';
}

static void kwb__msg_number(kwb_file *f, uint64_t v, unsigned base, int digits)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = "0123456789abcdef"[v % base];
        v /= base;
        digits--;
    } while (v || digits > 0);
    kwb__msg_put(f, buf + i, sizeof buf - i);
}

/* A name from the file, quoted, cut after 48 bytes (at a character start). */
static void kwb__msg_name(kwb_file *f, const unsigned char *s, uint64_t n)
{
    size_t k = n > 48 ? 48 : (size_t)n;
    while (k < n && k > 0 && (s[k] & 0xC0) == 0x80) k--;
    kwb__msg_put(f, "'", 1);
    kwb__msg_put(f, (const char *)s, k);
    kwb__msg_put(f, k < n ? "...'" : "'", k < n ? 4 : 1);
}

/* Sets f->message from fmt and returns r.  Directives: %s a C string, %u a
   uint64_t, %x a uint64_t as 0x%08x, %q a name (const unsigned char *,
   uint64_t length), %b bytes in hex (const unsigned char *, uint64_t n). */
static kwb_result kwb__fail(kwb_file *f, kwb_result r, const char *fmt, ...)
{
    va_list ap;
    f->message[0] = '\0';
    va_start(ap, fmt);
    while (*fmt) {
        size_t plain = strcspn(fmt, "%");
        const unsigned char *p;
        uint64_t n, i;
        kwb__msg_put(f, fmt, plain);
        fmt += plain;
        if (!*fmt || !fmt[1]) break;
        switch (fmt[1]) {
        case 's':
            p = (const unsigned char *)va_arg(ap, const char *);
            kwb__msg_put(f, (const char *)p, strlen((const char *)p));
            break;
        case 'u':
            kwb__msg_number(f, va_arg(ap, uint64_t), 10, 1);
            break;
        case 'x':
            kwb__msg_put(f, "0x", 2);
            kwb__msg_number(f, va_arg(ap, uint64_t), 16, 8);
            break;
        case 'q':
            p = va_arg(ap, const unsigned char *);
            kwb__msg_name(f, p, va_arg(ap, uint64_t));
            break;
        case 'b':
            p = va_arg(ap, const unsigned char *);
            n = va_arg(ap, uint64_t);
            for (i = 0; i < n; i++) {
                if (i) kwb__msg_put(f, " ", 1);
                kwb__msg_number(f, p[i], 16, 2);
            }
            break;
        default:
            kwb__msg_put(f, fmt, 2);
            break;
        }
        fmt += 2;
    }
    va_end(ap);
    return r;
}

#define KWB__U(v) ((uint64_t)(v)) /* the argument type of %u and %x */

/* ---- working memory and the work budget ---------------------------------- */

/* Scratch memory of the checks: from opt.work if given (handed out from the
   bottom, 8-aligned; freeing the latest piece gives it back), else from the
   allocator when the open may allocate, else none. */
static void *kwb__scratch(kwb_file *f, uint64_t size, int use_allocator)
{
    if (f->arena_) {
        size_t pad = (size_t)((8 - ((uintptr_t)(f->arena_ + f->arena_used_) & 7)) & 7);
        size_t room = f->opt_.work_size - f->arena_used_;
        void *p;
        if (pad > room || size > room - pad) return NULL;
        p = f->arena_ + f->arena_used_ + pad;
        f->arena_used_ += pad + (size_t)size;
        f->arena_last_ = p;
        return p;
    }
    if (!use_allocator || size > (uint64_t)SIZE_MAX) return NULL;
    return kwb__alloc(f, (size_t)size);
}

static void kwb__scratch_free(kwb_file *f, void *p)
{
    if (!p) return;
    if (!f->arena_) {
        kwb__free(f, p);
    } else if (p == f->arena_last_) {
        f->arena_used_ = (size_t)((unsigned char *)p - f->arena_);
        f->arena_last_ = NULL;
    }
}

#ifndef KWBIN_WORK_PER_BYTE
#define KWBIN_WORK_PER_BYTE 64
#endif
#ifndef KWBIN_WORK_BASE
#define KWBIN_WORK_BASE ((uint64_t)1 << 24)
#endif

/* Without memory some checks repeat work: a string referenced again is
   rescanned, the string table and the names are compared block by block.
   That work is counted in units of about four instructions (see each
   check); past the budget, linear in the file's size, the open stops
   undecided. */
static kwb_result kwb__spend(kwb_file *f, uint64_t units)
{
    f->work_done_ += units; /* units < 2^34 per call: no overflow */
    if (f->work_done_ <= f->work_budget_) return KWB_OK;
    return kwb__fail(f, KWB_ERR_NEEDS_MEMORY,
                     "not decided within the work budget of an open without working memory "
                     "(%u units for %u bytes): open it with memory (kwb_open_memory_ex, "
                     "kwb_open_path, kwb_options.work)",
                     KWB__U(f->work_budget_), KWB__U(f->size));
}

static void kwb__set_budget(kwb_file *f)
{
    uint64_t size = f->size, per = KWBIN_WORK_PER_BYTE;
    f->work_done_ = 0;
    f->work_budget_ = size > (KWB__U64_MAX - KWBIN_WORK_BASE) / per ? KWB__U64_MAX
                                                                       : per * size + KWBIN_WORK_BASE;
}

/* ---- steps 1-6: the header ---------------------------------------------- */

static const unsigned char kwb__magic[8] = {0x89, 'K', 'W', 'B', '\r', '\n', 0x1A, '\n'};

/* A record/header size: the v1.0 value if the minor is known, else at
   least that and a multiple of 8 (a newer minor may append fields). */
static int kwb__size_field_ok(uint32_t value, uint32_t v10, int known)
{
    return known ? value == v10 : (value >= v10 && value % 8 == 0);
}

/* Step 1's message: the bytes found, and what they look like. */
static kwb_result kwb__not_kwbin(kwb_file *f)
{
    static const unsigned char hdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1A, '\n'};
    size_t n = f->size < 8 ? f->size : 8;
    const char *hint = "";
    if (n >= 4 && memcmp(f->data, "PK\3\4", 4) == 0)
        hint = " (a ZIP archive: a Keras 3 .keras file? convert it with kwbin pack)";
    else if (n == 8 && memcmp(f->data, hdf5, 8) == 0)
        hint = " (an HDF5 file: a Keras .h5 file? convert it with kwbin pack)";
    return kwb__fail(f, KWB_ERR_NOT_KWBIN, "offset 0: found %b, expected the kwbin magic %b%s",
                     f->data, KWB__U(n), kwb__magic, KWB__U(8), hint);
}

static kwb_result kwb__size_field_error(kwb_file *f, const char *field, uint32_t value, uint32_t v10)
{
    if (f->known_minor_)
        return kwb__fail(f, KWB_ERR_BAD_HEADER, "%s is %u, version 1.%u requires %u", field,
                         KWB__U(value), KWB__U(f->version_minor), KWB__U(v10));
    return kwb__fail(f, KWB_ERR_BAD_HEADER, "%s is %u, not a multiple of 8 of at least %u", field,
                     KWB__U(value), KWB__U(v10));
}

static kwb_result kwb__check_header(kwb_file *f)
{
    const unsigned char *p = f->data;
    size_t n = f->size, first = n < 8 ? n : 8, bad;
    int known;
    uint32_t a;
    if (first && memcmp(p, kwb__magic, first) != 0) return kwb__not_kwbin(f);
    if (n < KWB__HEADER_SIZE)
        return kwb__fail(f, KWB_ERR_TRUNCATED, "the file has %u bytes, a kwbin header has 128",
                         KWB__U(n));
    if (kwb__u32(p + 8) != 0x01020304u)
        return kwb__fail(f, KWB_ERR_BYTE_ORDER, "offset 8: found %b, expected 04 03 02 01", p + 8,
                         KWB__U(4));
    if (kwb__u16(p + 12) != KWB_VERSION_MAJOR)
        return kwb__fail(f, KWB_ERR_VERSION, "format version %u.%u, this reader reads 1.x",
                         KWB__U(kwb__u16(p + 12)), KWB__U(kwb__u16(p + 14)));
    f->version_major = KWB_VERSION_MAJOR;
    f->version_minor = kwb__u16(p + 14);
    f->known_minor_ = known = f->version_minor <= KWB_VERSION_MINOR;
    f->header_size_ = kwb__u32(p + 16);
    f->layer_record_size_ = kwb__u16(p + 28);
    f->tensor_record_size_ = kwb__u16(p + 30);
    if (!kwb__size_field_ok(f->header_size_, KWB__HEADER_SIZE, known))
        return kwb__size_field_error(f, "header_size", f->header_size_, KWB__HEADER_SIZE);
    if (!kwb__size_field_ok(f->layer_record_size_, KWB__LAYER_RECORD, known))
        return kwb__size_field_error(f, "layer_record_size", f->layer_record_size_, KWB__LAYER_RECORD);
    if (!kwb__size_field_ok(f->tensor_record_size_, KWB__TENSOR_RECORD, known))
        return kwb__size_field_error(f, "tensor_record_size", f->tensor_record_size_,
                                     KWB__TENSOR_RECORD);
    if (kwb__u32(p + 20) & 0xFFFFu) /* v1.0 knows no required flag */
        return kwb__fail(f, KWB_ERR_BAD_HEADER, "flags %x: a required flag this reader does not know",
                         KWB__U(kwb__u32(p + 20)));
    if (known && (bad = kwb__first_nonzero(p + 112, 12)) < 12)
        return kwb__fail(f, KWB_ERR_BAD_HEADER, "reserved header byte at offset %u is %u, not 0",
                         KWB__U(112 + bad), KWB__U(p[112 + bad]));
    a = kwb__u32(p + 24);
    if (a < 16 || a > 65536 || (a & (a - 1)))
        return kwb__fail(f, KWB_ERR_BAD_ALIGNMENT,
                         "alignment %u is not a power of two from 16 to 65536", KWB__U(a));
    f->alignment = a;
    f->strings_offset_ = kwb__u64(p + 32);
    f->strings_size_ = kwb__u64(p + 40);
    f->layers_offset_ = kwb__u64(p + 48);
    f->layers_size_ = kwb__u64(p + 56);
    f->tensors_offset_ = kwb__u64(p + 64);
    f->tensors_size_ = kwb__u64(p + 72);
    f->metadata_offset_ = kwb__u64(p + 80);
    f->metadata_size_ = kwb__u64(p + 88);
    f->payload_offset_ = kwb__u64(p + 96);
    f->payload_size_ = kwb__u64(p + 104);
    return KWB_OK;
}

/* ---- steps 7-10: placement, extent, header CRC, padding ----------------- */

/* The [start, end) ranges between sections, which must be zero (step 10). */
typedef struct kwb__gaps {
    uint64_t start[5], end[5];
} kwb__gaps;

static const char *const kwb__section_names[5] = {"strings", "layers", "tensors", "metadata",
                                                  "payload"};

static kwb_result kwb__check_sections(kwb_file *f, kwb__gaps *gaps)
{
    const uint64_t offsets[4] = {f->strings_offset_, f->layers_offset_, f->tensors_offset_,
                                 f->metadata_offset_};
    const uint64_t sizes[4] = {f->strings_size_, f->layers_size_, f->tensors_size_,
                               f->metadata_size_};
    uint64_t pos = f->header_size_, want = 0;
    int s;
    for (s = 0; s < 4; s++) {
        if (f->known_minor_ ? !kwb__align_up(pos, 8, &want) || offsets[s] != want
                            : offsets[s] < pos || offsets[s] % 8)
            return kwb__fail(f, KWB_ERR_BAD_SECTION,
                             "%s section at offset %u, expected %s%u (8-aligned, after the previous one)",
                             kwb__section_names[s], KWB__U(offsets[s]),
                             f->known_minor_ ? "" : "at least ", KWB__U(f->known_minor_ ? want : pos));
        if (sizes[s] > KWB__U64_MAX - offsets[s])
            return kwb__fail(f, KWB_ERR_BAD_SECTION, "%s section: offset %u + size %u overflows",
                             kwb__section_names[s], KWB__U(offsets[s]), KWB__U(sizes[s]));
        gaps->start[s] = pos;
        gaps->end[s] = offsets[s];
        pos = offsets[s] + sizes[s];
    }
    if (f->layers_size_ % f->layer_record_size_ || f->layers_size_ / f->layer_record_size_ >= KWB_NONE)
        return kwb__fail(f, KWB_ERR_BAD_SECTION,
                         "layers section of %u bytes is not a whole number (< 2^32 - 1) of %u-byte records",
                         KWB__U(f->layers_size_), KWB__U(f->layer_record_size_));
    if (f->tensors_size_ % f->tensor_record_size_ ||
        f->tensors_size_ / f->tensor_record_size_ >= KWB_NONE)
        return kwb__fail(f, KWB_ERR_BAD_SECTION,
                         "tensors section of %u bytes is not a whole number (< 2^32 - 1) of %u-byte records",
                         KWB__U(f->tensors_size_), KWB__U(f->tensor_record_size_));
    f->layer_count = (uint32_t)(f->layers_size_ / f->layer_record_size_);
    f->tensor_count = (uint32_t)(f->tensors_size_ / f->tensor_record_size_);
    if (!kwb__align_up(pos, f->alignment, &want) ||
        (f->known_minor_ ? f->payload_offset_ != want
                         : (f->payload_offset_ < pos || f->payload_offset_ % f->alignment)))
        return kwb__fail(f, KWB_ERR_BAD_SECTION,
                         "payload at offset %u, expected %s%u (aligned to %u after the metadata)",
                         KWB__U(f->payload_offset_), f->known_minor_ ? "" : "at least ",
                         KWB__U(f->known_minor_ ? want : pos), KWB__U(f->alignment));
    if (f->payload_size_ > KWB__U64_MAX - f->payload_offset_)
        return kwb__fail(f, KWB_ERR_BAD_SECTION, "payload: offset %u + size %u overflows",
                         KWB__U(f->payload_offset_), KWB__U(f->payload_size_));
    gaps->start[4] = pos;
    gaps->end[4] = f->payload_offset_;
    return KWB_OK;
}

static kwb_result kwb__check_extent(kwb_file *f)
{
    uint64_t end = f->payload_offset_ + f->payload_size_; /* no overflow: step 7 */
    if (end > (uint64_t)f->size)
        return kwb__fail(f, KWB_ERR_TRUNCATED, "the payload ends at %u, the file has %u bytes",
                         KWB__U(end), KWB__U(f->size));
    if (end < (uint64_t)f->size)
        return kwb__fail(f, KWB_ERR_TRAILING_BYTES, "%u bytes after the payload's end at %u",
                         KWB__U(f->size - end), KWB__U(end));
    return KWB_OK;
}

static kwb_result kwb__check_header_crc(kwb_file *f)
{
    /* From here on every section lies inside the file (step 8). */
    uint32_t crc = kwb_crc32(0, f->data, KWB__CRC_OFFSET), stored = kwb__u32(f->data + KWB__CRC_OFFSET);
    crc = kwb_crc32(crc, f->data + KWB__HEADER_SIZE, (size_t)f->payload_offset_ - KWB__HEADER_SIZE);
    if (crc == stored) return KWB_OK;
    return kwb__fail(f, KWB_ERR_HEADER_CHECKSUM,
                     "CRC-32 of the bytes before the payload is %x, the header says %x", KWB__U(crc),
                     KWB__U(stored));
}

static kwb_result kwb__check_gaps(kwb_file *f, const kwb__gaps *gaps)
{
    int g;
    if (!f->known_minor_) return KWB_OK; /* may hold sections of a newer minor */
    for (g = 0; g < 5; g++) {
        size_t n = (size_t)(gaps->end[g] - gaps->start[g]);
        size_t bad = kwb__first_nonzero(f->data + (size_t)gaps->start[g], n);
        if (bad < n)
            return kwb__fail(f, KWB_ERR_BAD_SECTION, "padding byte at offset %u (before the %s) is not 0",
                             KWB__U(gaps->start[g] + bad), kwb__section_names[g]);
    }
    return KWB_OK;
}

/* ---- string references (spec section 5) --------------------------------- */

/* Optional speed-up, built when memory is at hand: for each 64-byte block of
   the string table, the position of the first NUL at or after its start.
   Turns the "no NUL inside" check into an O(64) one. */
static void kwb__build_nul_index(const unsigned char *s, uint64_t size, uint64_t *next)
{
    uint64_t pos = size, nul = size;
    while (pos-- > 0) {
        if (s[pos] == 0) nul = pos;
        if (pos % 64 == 0) next[pos / 64] = nul;
    }
}

static uint64_t kwb__next_nul(const kwb_file *f, uint64_t from)
{
    const unsigned char *s = kwb__strings(f);
    uint64_t block_end = (from / 64 + 1) * 64, i;
    if (block_end > f->strings_size_) block_end = f->strings_size_;
    for (i = from; i < block_end; i++)
        if (s[i] == 0) return i;
    return block_end == f->strings_size_ ? f->strings_size_ : f->nul_index_[block_end / 64];
}

/* The allocation-free open's memory: a stack cache of strings already
   checked (their length, whether the JSON check passed), direct-mapped by
   offset.  A longer string is not evicted by a shorter one: a miss costs a
   rescan of the string, so the long ones are worth keeping. */
#define KWB__SEEN 256
typedef struct kwb__seen {
    uint32_t start[KWB__SEEN]; /* offset + 1; 0: empty */
    uint32_t length[KWB__SEEN];
    unsigned char json[KWB__SEEN];
} kwb__seen;

static size_t kwb__seen_slot(uint32_t offset) { return (size_t)((offset * 2654435761u) >> 24); }

/* The cache entry of the string at `offset`, or NULL. */
static size_t kwb__seen_find(const kwb_file *f, uint32_t offset)
{
    const kwb__seen *c = (const kwb__seen *)f->seen_;
    size_t j = kwb__seen_slot(offset);
    return c && offset != KWB_NONE && c->start[j] == offset + 1 ? j + 1 : 0;
}

static void kwb__seen_put(kwb_file *f, uint32_t offset, uint32_t length)
{
    kwb__seen *c = (kwb__seen *)f->seen_;
    size_t j = kwb__seen_slot(offset);
    if (!c || offset == KWB_NONE || c->start[j] == offset + 1) return;
    if (c->start[j] && c->length[j] > length) return;
    c->start[j] = offset + 1;
    c->length[j] = length;
    c->json[j] = 0;
}

/* Step 13.1 / 14.1 for one reference: valid when offset + length < size, the
   byte there is NUL, none before it is, the string starts the table or
   follows a NUL (a whole string, so it also starts a UTF-8 character), and
   it is no later than the next string not referenced yet (first-reference
   order).  A new string is scanned once; one referenced again costs O(64)
   with the NUL index, O(1) when in the cache, else a rescan (budgeted). */
static kwb_result kwb__ref_ok(kwb_file *f, const char *kind, uint32_t index, const char *field,
                              const unsigned char *ref)
{
    const unsigned char *s = kwb__strings(f), *nul;
    uint32_t offset = kwb__u32(ref), length = kwb__u32(ref + 4);
    uint64_t end = (uint64_t)offset + length, nul_at = end;
    size_t hit = 0;
    kwb_result r;
    if (end >= f->strings_size_)
        return kwb__fail(f, KWB_ERR_BAD_STRING,
                         "%s %u %s (offset %u, length %u) runs past the string table (%u bytes)",
                         kind, KWB__U(index), field, KWB__U(offset), KWB__U(length),
                         KWB__U(f->strings_size_));
    if (s[end] != 0)
        return kwb__fail(f, KWB_ERR_BAD_STRING,
                         "%s %u %s (offset %u, length %u) is not followed by a NUL", kind,
                         KWB__U(index), field, KWB__U(offset), KWB__U(length));
    if (offset && s[offset - 1] != 0)
        return kwb__fail(f, KWB_ERR_BAD_STRING,
                         "%s %u %s (offset %u, length %u) does not start a string (no NUL before it)",
                         kind, KWB__U(index), field, KWB__U(offset), KWB__U(length));
    if (offset > f->next_string_)
        return kwb__fail(f, KWB_ERR_BAD_STRING,
                         "%s %u %s (offset %u, length %u) skips the string at %u, referenced by no "
                         "earlier record (strings are stored in first-reference order)",
                         kind, KWB__U(index), field, KWB__U(offset), KWB__U(length),
                         KWB__U(f->next_string_));
    if (length) {
        if (offset == f->next_string_ || (!f->nul_index_ && !(hit = kwb__seen_find(f, offset)))) {
            if (offset != f->next_string_ && (r = kwb__spend(f, 4 + length / 8)) != KWB_OK) return r;
            if ((nul = (const unsigned char *)memchr(s + offset, 0, length)) != NULL)
                nul_at = (uint64_t)(nul - s);
            else kwb__seen_put(f, offset, length);
        } else if (f->nul_index_) {
            nul_at = kwb__next_nul(f, offset);
        } else if (((const kwb__seen *)f->seen_)->length[hit - 1] != length) {
            nul_at = offset + (uint64_t)((const kwb__seen *)f->seen_)->length[hit - 1];
        }
        if (nul_at != end)
            return kwb__fail(f, KWB_ERR_BAD_STRING,
                             "%s %u %s (offset %u, length %u) holds a NUL at offset %u", kind,
                             KWB__U(index), field, KWB__U(offset), KWB__U(length), KWB__U(nul_at));
    }
    if (offset == f->next_string_) f->next_string_ = end + 1;
    return KWB_OK;
}

/* A reference of a checked record as a message argument (%q). */
#define KWB__NAME(f, ref) kwb__strings(f) + kwb__u32(ref), KWB__U(kwb__u32((ref) + 4))

/* ---- steps 11-12: string table and metadata ----------------------------- */

static kwb_result kwb__not_utf8(kwb_file *f, kwb_result r, const char *what, const unsigned char *s,
                                size_t n)
{
    size_t bad = kwb__utf8_error_at(s, n);
    return kwb__fail(f, r, "%s is not UTF-8: its byte %u (%b) starts no valid character", what,
                     KWB__U(bad), s + bad, KWB__U(1));
}

static kwb_result kwb__check_text(kwb_file *f)
{
    const unsigned char *meta = f->data + (size_t)f->metadata_offset_;
    size_t meta_size = (size_t)f->metadata_size_;
    if (!kwb__utf8_valid(kwb__strings(f), (size_t)f->strings_size_))
        return kwb__not_utf8(f, KWB_ERR_BAD_STRING, "the string table", kwb__strings(f),
                             (size_t)f->strings_size_);
    if (!kwb__utf8_valid(meta, meta_size))
        return kwb__not_utf8(f, KWB_ERR_BAD_METADATA, "the metadata", meta, meta_size);
    if (!kwb__json_object(meta, meta_size))
        return kwb__fail(f, KWB_ERR_BAD_METADATA,
                         "the metadata (%u bytes) is not one JSON object (RFC 8259, no NaN, nested "
                         "at most 64 deep)",
                         KWB__U(meta_size));
    return KWB_OK;
}

/* ---- step 13: layer records --------------------------------------------- */

/* Flags in marks_, per string-table byte where a string starts. */
#define KWB__MARK_JSON 1u   /* checked: a JSON object */
#define KWB__MARK_LAYER 2u  /* a layer's name */
#define KWB__MARK_TENSOR 4u /* a tensor's name */
#define KWB__MARK_WEIGHT 8u /* a weight name of the layer being checked */

/* Layers often share one config string: check each distinct one once with
   marks_, else once while it stays in the cache.  A config checked again
   costs its length in the work budget. */
static kwb_result kwb__check_config(kwb_file *f, uint32_t i, const unsigned char *r, int fresh)
{
    uint32_t offset = kwb__u32(r + 16), length = kwb__u32(r + 20);
    size_t hit = f->marks_ ? 0 : kwb__seen_find(f, offset);
    kwb__seen *c = (kwb__seen *)f->seen_;
    kwb_result res;
    if (!length) return KWB_OK;
    if (f->marks_ ? (f->marks_[offset] & KWB__MARK_JSON) != 0 : hit && c->json[hit - 1]) return KWB_OK;
    if (!fresh && !f->marks_ && (res = kwb__spend(f, 2 * (uint64_t)length)) != KWB_OK) return res;
    if (!kwb__json_object(kwb__strings(f) + offset, length))
        return kwb__fail(f, KWB_ERR_BAD_LAYER,
                         "layer %u %q: its config (%u bytes) is not one JSON object (RFC 8259, no "
                         "NaN, nested at most 64 deep)",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(length));
    if (f->marks_) f->marks_[offset] |= KWB__MARK_JSON;
    else if (hit || (hit = kwb__seen_find(f, offset)) != 0) c->json[hit - 1] = 1;
    return KWB_OK;
}

static kwb_result kwb__check_layers(kwb_file *f)
{
    uint32_t i;
    kwb_result res;
    for (i = 0; i < f->layer_count; i++) {
        const unsigned char *r = kwb__layer_record(f, i);
        uint32_t parent = kwb__u32(r + 24), first = kwb__u32(r + 28), count = kwb__u32(r + 32);
        int fresh;
        if (f->known_minor_ && kwb__u32(r + 36))
            return kwb__fail(f, KWB_ERR_BAD_LAYER, "layer %u: reserved field is %u, not 0",
                             KWB__U(i), KWB__U(kwb__u32(r + 36)));
        if ((res = kwb__ref_ok(f, "layer", i, "name", r)) != KWB_OK ||
            (res = kwb__ref_ok(f, "layer", i, "class_name", r + 8)) != KWB_OK)
            return res;
        fresh = kwb__u32(r + 16) == f->next_string_;
        if ((res = kwb__ref_ok(f, "layer", i, "config", r + 16)) != KWB_OK) return res;
        if (kwb__u32(r + 4) == 0) return kwb__fail(f, KWB_ERR_BAD_LAYER, "layer %u: empty name", KWB__U(i));
        if (parent != KWB_NONE && parent >= i)
            return kwb__fail(f, KWB_ERR_BAD_LAYER, "layer %u %q: parent %u is not an earlier layer",
                             KWB__U(i), KWB__NAME(f, r), KWB__U(parent));
        if ((uint64_t)first + count > f->tensor_count)
            return kwb__fail(f, KWB_ERR_BAD_LAYER,
                             "layer %u %q: first_tensor %u + tensor_count %u is past the %u tensors",
                             KWB__U(i), KWB__NAME(f, r), KWB__U(first), KWB__U(count),
                             KWB__U(f->tensor_count));
        if ((res = kwb__check_config(f, i, r, fresh)) != KWB_OK) return res;
    }
    return KWB_OK;
}

/* ---- step 14: tensor records -------------------------------------------- */

/* Steps 14.9-14.10: the byte size of a shape (0 if a dimension is 0).
   Returns 0 (size_overflow) when the non-zero dimensions times the item
   size exceed 2^63 - 1, so every shape, even an empty one, has a size a
   signed 64-bit integer holds. */
static int kwb__shape_bytes(const uint64_t *shape, unsigned ndim, uint64_t itemsize, uint64_t *out)
{
    const uint64_t limit = 0x7FFFFFFFFFFFFFFFu;
    uint64_t total = itemsize;
    int empty = 0;
    unsigned d;
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0) {
            empty = 1;
            continue;
        }
        if (total > limit / shape[d]) return 0; /* total * shape[d] > limit */
        total *= shape[d];
    }
    *out = empty ? 0 : total;
    return 1;
}

/* The fields of step 14 after the string references, checked in order. */
static kwb_result kwb__check_tensor_fields(kwb_file *f, uint32_t i, const unsigned char *r)
{
    uint32_t layer = kwb__u32(r + 24), weight_length = kwb__u32(r + 12);
    unsigned dtype = r[28], ndim = r[29], d;
    uint64_t shape[KWB_MAX_NDIM], nbytes = kwb__u64(r + 48), want;
    for (d = 0; d < KWB_MAX_NDIM; d++) shape[d] = kwb__u64(r + 56 + 8 * d);
    if (kwb__u32(r + 4) == 0) return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u: empty name", KWB__U(i));
    if (layer != KWB_NONE && layer >= f->layer_count)
        return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u %q: layer %u does not exist (%u layers)",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(layer), KWB__U(f->layer_count));
    if ((weight_length == 0) != (layer == KWB_NONE))
        return kwb__fail(f, KWB_ERR_BAD_TENSOR,
                         layer == KWB_NONE ? "tensor %u %q: a weight name without a layer"
                                           : "tensor %u %q: a layer without a weight name",
                         KWB__U(i), KWB__NAME(f, r));
    if (dtype >= sizeof kwb__dtype_sizes || kwb__dtype_sizes[dtype] == 0)
        return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u %q: dtype code %u is unknown", KWB__U(i),
                         KWB__NAME(f, r), KWB__U(dtype));
    if (ndim > KWB_MAX_NDIM)
        return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u %q: ndim %u is above 8", KWB__U(i),
                         KWB__NAME(f, r), KWB__U(ndim));
    for (d = ndim; d < KWB_MAX_NDIM; d++)
        if (shape[d])
            return kwb__fail(f, KWB_ERR_BAD_TENSOR,
                             "tensor %u %q: shape[%u] is %u, past ndim %u (must be 0)", KWB__U(i),
                             KWB__NAME(f, r), KWB__U(d), KWB__U(shape[d]), KWB__U(ndim));
    if (!kwb__shape_bytes(shape, ndim, kwb__dtype_sizes[dtype], &want))
        return kwb__fail(f, KWB_ERR_SIZE_OVERFLOW, "tensor %u %q: its shape holds more than 2^63 - 1 bytes",
                         KWB__U(i), KWB__NAME(f, r));
    if (nbytes != want)
        return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u %q: nbytes is %u, its dtype and shape make %u",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(nbytes), KWB__U(want));
    return KWB_OK;
}

/* Step 14 for record i; `expected` is where its data must start, `end_out`
   receives its padded end (the next tensor's expected start). */
static kwb_result kwb__check_tensor(kwb_file *f, uint32_t i, uint64_t expected,
                                    int expected_overflowed, uint64_t *end_out, int *end_overflowed)
{
    const unsigned char *r = kwb__tensor_record(f, i);
    uint32_t layer = kwb__u32(r + 24);
    uint64_t offset = kwb__u64(r + 40), nbytes = kwb__u64(r + 48);
    uint64_t payload_end = f->payload_offset_ + f->payload_size_;
    kwb_result res;

    if (f->known_minor_ && (kwb__u16(r + 30) || kwb__u32(r + 36)))
        return kwb__fail(f, KWB_ERR_BAD_TENSOR, "tensor %u: reserved fields are not 0", KWB__U(i));
    if ((res = kwb__ref_ok(f, "tensor", i, "name", r)) != KWB_OK ||
        (res = kwb__ref_ok(f, "tensor", i, "weight", r + 8)) != KWB_OK ||
        (res = kwb__ref_ok(f, "tensor", i, "source", r + 16)) != KWB_OK)
        return res;
    if ((res = kwb__check_tensor_fields(f, i, r)) != KWB_OK) return res;
    if (offset % f->alignment)
        return kwb__fail(f, KWB_ERR_BAD_ALIGNMENT, "tensor %u %q: data offset %u is not a multiple of %u",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(offset), KWB__U(f->alignment));
    if (expected_overflowed || offset < expected)
        return kwb__fail(f, KWB_ERR_TENSOR_OVERLAP,
                         "tensor %u %q: data at %u overlaps the previous tensor's (padded to %u)",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(offset), KWB__U(expected));
    if (offset > expected)
        return kwb__fail(f, KWB_ERR_TENSOR_GAP, "tensor %u %q: data at %u, expected at %u (no gaps)",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(offset), KWB__U(expected));
    if (offset > payload_end || nbytes > payload_end - offset)
        return kwb__fail(f, KWB_ERR_BAD_PAYLOAD,
                         "tensor %u %q: data at %u + %u bytes runs past the payload's end at %u",
                         KWB__U(i), KWB__NAME(f, r), KWB__U(offset), KWB__U(nbytes), KWB__U(payload_end));
    if (layer != KWB_NONE) {
        const unsigned char *owner = kwb__layer_record(f, layer);
        uint64_t first = kwb__u32(owner + 28), count = kwb__u32(owner + 32);
        if (i < first || i >= first + count)
            return kwb__fail(f, KWB_ERR_BAD_TENSOR,
                             "tensor %u %q: its layer %u %q owns only tensors from %u, %u of them",
                             KWB__U(i), KWB__NAME(f, r), KWB__U(layer), KWB__NAME(f, owner),
                             KWB__U(first), KWB__U(count));
    }
    *end_overflowed = !kwb__align_up(offset + nbytes, f->alignment, end_out);
    return KWB_OK;
}

static kwb_result kwb__check_tensors(kwb_file *f)
{
    uint64_t expected = f->payload_offset_;
    int overflowed = 0;
    uint32_t i;
    for (i = 0; i < f->tensor_count; i++) {
        kwb_result r = kwb__check_tensor(f, i, expected, overflowed, &expected, &overflowed);
        if (r != KWB_OK) return r;
    }
    return KWB_OK;
}

/* ---- sorting strings by content, without hashing ------------------------ */

/* What a sorted u32 stands for: a string offset, or a layer or tensor whose
   name is the key. */
enum { KWB__SORT_OFFSETS, KWB__SORT_LAYERS, KWB__SORT_TENSORS };

typedef struct kwb__sorter {
    const kwb_file *f;
    int kind;
    int equal;          /* two keys were found equal */
    uint32_t *tmp;      /* as many as the array sorted */
    size_t count[256];  /* shared by every level: used before recursing */
} kwb__sorter;

/* The NUL-terminated key of v, in the string table. */
static const unsigned char *kwb__key_string(const kwb_file *f, int kind, uint32_t v)
{
    const unsigned char *r;
    if (kind == KWB__SORT_OFFSETS) return kwb__strings(f) + v;
    r = kind == KWB__SORT_LAYERS ? kwb__layer_record(f, v) : kwb__tensor_record(f, v);
    return kwb__strings(f) + kwb__u32(r);
}

static const unsigned char *kwb__sort_key(const kwb__sorter *s, uint32_t v)
{
    return kwb__key_string(s->f, s->kind, v);
}

/* Two keys sharing their first d bytes, compared from there: O(their common prefix). */
static int kwb__compare_from(const unsigned char *a, const unsigned char *b, size_t d)
{
    a += d;
    b += d;
    while (*a && *a == *b) a++, b++;
    return (int)*a - (int)*b;
}

static void kwb__insertion_sort(kwb__sorter *s, uint32_t *a, size_t n, size_t d)
{
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint32_t v = a[i];
        const unsigned char *key = kwb__sort_key(s, v);
        int c = 1;
        for (j = i; j > 0 && (c = kwb__compare_from(kwb__sort_key(s, a[j - 1]), key, d)) > 0; j--)
            a[j] = a[j - 1];
        a[j] = v;
        if (c == 0) s->equal = 1;
    }
}

/* Counting sort of a[0, n) by the byte at d (stable). */
static void kwb__distribute(kwb__sorter *s, uint32_t *a, size_t n, size_t d)
{
    size_t i, sum = 0;
    memset(s->count, 0, sizeof s->count);
    for (i = 0; i < n; i++) s->count[kwb__sort_key(s, a[i])[d]]++;
    for (i = 0; i < 256; i++) {
        size_t c = s->count[i];
        s->count[i] = sum;
        sum += c;
    }
    for (i = 0; i < n; i++) s->tmp[s->count[kwb__sort_key(s, a[i])[d]]++] = a[i];
    memcpy(a, s->tmp, n * sizeof *a);
}

/* The end of the run of keys from i on that have the same byte at d. */
static size_t kwb__run_end(const kwb__sorter *s, const uint32_t *a, size_t n, size_t i, size_t d)
{
    unsigned char c = kwb__sort_key(s, a[i])[d];
    while (++i < n && kwb__sort_key(s, a[i])[d] == c) {}
    return i;
}

/* The bytes from d on that all keys of a[0, n) share (n >= 2), before the
   first one's NUL: windows of doubling size compared with memcmp, so
   O(n * (result + 8)) however long the keys. */
static size_t kwb__common_prefix(const kwb__sorter *s, const uint32_t *a, size_t n, size_t d)
{
    const unsigned char *first = kwb__sort_key(s, a[0]);
    const unsigned char *end = kwb__strings(s->f) + (size_t)s->f->strings_size_;
    size_t m = 0, w = 8, i, j;
    for (;;) {
        /* p is within the first key (its NUL included): the key shares p - first non-NUL bytes */
        const unsigned char *p = first + d + m, *nul;
        int differ = 0;
        if (w > (size_t)(end - p)) w = (size_t)(end - p);
        nul = (const unsigned char *)memchr(p, 0, w);
        if (nul) w = (size_t)(nul - p);
        for (i = 1; i < n && w; i++) {
            const unsigned char *q = kwb__sort_key(s, a[i]) + d + m; /* no further than its NUL */
            if (w <= (size_t)(end - q) && memcmp(p, q, w) == 0) continue;
            for (j = 0; j < w && p[j] == q[j]; j++) {}
            w = j; /* the window shrinks to what all keys so far share */
            differ = 1;
        }
        m += w;
        if (differ || nul || !w) return m;
        w *= 2;
    }
}

#define KWB__INSERTION 16

/* MSD radix sort of a[0, n), whose keys share their first d bytes.  A key
   takes part in one distribution per group it is in, and each group shares
   its common prefix (skipped at n * (its length + 8)) and then splits, so a
   key is in fewer groups than the bytes of its distinguishing prefix (the
   shortest prefix no other key has, or the whole key and its NUL): the
   distributions cost O(sum of distinguishing prefixes) <= O(key bytes),
   their 256-entry passes being paid by the more than KWB__INSERTION keys
   they move.  A group of at most KWB__INSERTION keys is insertion-sorted,
   each comparison within its distinguishing prefixes: O(KWB__INSERTION *
   those bytes).  Keys ending together (byte 0) are equal: left as they
   are.  Every run but the largest is sorted by recursion, the largest by
   the loop, so the recursion is at most log2(n) deep. */
static void kwb__radix_sort(kwb__sorter *s, uint32_t *a, size_t n, size_t d)
{
    while (n > 1) {
        size_t i, end, big = 0, big_n = 0;
        d += kwb__common_prefix(s, a, n, d);
        if (n <= KWB__INSERTION) break;
        kwb__distribute(s, a, n, d);
        for (i = 0; i < n; i = end) { /* the largest run of a byte other than 0 */
            end = kwb__run_end(s, a, n, i, d);
            if (kwb__sort_key(s, a[i])[d] == 0) {
                if (end - i > 1) s->equal = 1;
            } else if (end - i > big_n) {
                big = i;
                big_n = end - i;
            }
        }
        for (i = 0; i < n; i = end) {
            end = kwb__run_end(s, a, n, i, d);
            if (i != big && end - i > 1 && kwb__sort_key(s, a[i])[d] != 0)
                kwb__radix_sort(s, a + i, end - i, d + 1);
        }
        a += big;
        n = big_n;
        d++;
    }
    kwb__insertion_sort(s, a, n, d);
}

/* Sorts a[0, n) by key, tmp holding n more; 1 if two keys are equal. */
static int kwb__sort_strings(const kwb_file *f, int kind, uint32_t *a, uint32_t *tmp, size_t n)
{
    kwb__sorter s;
    s.f = f;
    s.kind = kind;
    s.equal = 0;
    s.tmp = tmp;
    kwb__radix_sort(&s, a, n, 0);
    return s.equal;
}

/* ---- step 15: the string table is canonical ----------------------------- */

/* The length of the table's string starting at pos (the table ends with a NUL). */
static uint64_t kwb__string_length(const kwb_file *f, uint64_t pos)
{
    const unsigned char *s = kwb__strings(f);
    return (uint64_t)((const unsigned char *)memchr(s + pos, 0, (size_t)(f->strings_size_ - pos)) - (s + pos));
}

/* Is the string at `other` (a string start) equal to s[pos, pos + length)? */
static int kwb__same_string(const kwb_file *f, uint64_t pos, uint64_t length, uint64_t other)
{
    const unsigned char *s = kwb__strings(f);
    return other + length < f->strings_size_ && s[other + length] == 0 &&
           memcmp(s + pos, s + other, (size_t)length) == 0;
}

static kwb_result kwb__stored_twice(kwb_file *f, uint64_t first, uint64_t again, uint64_t length)
{
    return kwb__fail(f, KWB_ERR_BAD_STRING, "the string at offset %u %q is stored again at offset %u",
                     KWB__U(first), kwb__strings(f) + first, KWB__U(length), KWB__U(again));
}

/* A hash of n bytes read 8 at a time in the host's order: only compared
   within one open, and about 8 times faster than FNV-1a. */
static uint32_t kwb__hash_words(const unsigned char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9u;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBu;
    return (uint32_t)(h >> 32);
}

/* Without memory: a stack table of one block of KWBIN_DUP_BLOCK strings at a
   time (a slot holds a string's hash and start + 1: every string starts at
   a 32-bit reference offset), every later string looked up in it.  Each
   pass costs O(table size).  In the work budget (a unit is about four
   instructions) a string costs 16 units, a probe 2, 8 bytes hashed or
   compared 1. */
static kwb_result kwb__string_repeats_blocked(kwb_file *f)
{
    uint64_t slots[2 * KWBIN_DUP_BLOCK], block = 0, size = f->strings_size_;
    const size_t mask = 2 * KWBIN_DUP_BLOCK - 1;
    const unsigned char *s = kwb__strings(f);
    kwb_result r;
    while (block < size) {
        uint64_t pos = block, next_block = size;
        size_t taken = 0;
        memset(slots, 0, sizeof slots);
        while (pos < size) {
            uint64_t length = kwb__string_length(f, pos);
            uint32_t hash = kwb__hash_words(s + pos, (size_t)length);
            size_t j = (hash ^ hash >> 16) & mask;
            if ((r = kwb__spend(f, 16 + length / 8)) != KWB_OK) return r;
            for (; slots[j]; j = (j + 1) & mask) {
                uint64_t other = (slots[j] & 0xFFFFFFFFu) - 1;
                if ((r = kwb__spend(f, 2)) != KWB_OK) return r;
                if ((uint32_t)(slots[j] >> 32) != hash) continue;
                if ((r = kwb__spend(f, length / 8)) != KWB_OK) return r;
                if (kwb__same_string(f, pos, length, other)) return kwb__stored_twice(f, other, pos, length);
            }
            if (taken < KWBIN_DUP_BLOCK) {
                if (pos < 0xFFFFFFFFu) slots[j] = (uint64_t)hash << 32 | (pos + 1); /* else the last */
                taken++;
            } else if (next_block == size) {
                next_block = pos;
            }
            pos += length + 1;
        }
        block = next_block;
    }
    return KWB_OK;
}

/* With memory: the string starts sorted by content (kwb__sort_strings: no
   hashing, so no input makes it slow), then equal neighbours looked for. */
static kwb_result kwb__string_repeats(kwb_file *f, int use_allocator)
{
    const unsigned char *s = kwb__strings(f);
    uint64_t pos, count = 0, first = 0, again = KWB__U64_MAX;
    uint32_t *starts;
    size_t i, n, run;
    for (pos = 0; pos < f->strings_size_; pos += kwb__string_length(f, pos) + 1) count++;
    starts = count <= KWB__U64_MAX / 8 ? (uint32_t *)kwb__scratch(f, 8 * count, use_allocator) : NULL;
    if (!starts) return kwb__string_repeats_blocked(f);
    n = (size_t)count;
    /* every string is referenced, so it starts at a 32-bit offset */
    for (pos = 0, i = 0; i < n; pos += kwb__string_length(f, pos) + 1) starts[i++] = (uint32_t)pos;
    if (kwb__sort_strings(f, KWB__SORT_OFFSETS, starts, starts + n, n)) {
        /* The first string (in table order) stored again: the smallest second
           offset of a run of equal strings.  O(table size) comparisons. */
        for (i = 1, run = 0; i <= n; i++) {
            if (i < n && strcmp((const char *)s + starts[i], (const char *)s + starts[run]) == 0) continue;
            if (i - run > 1) {
                uint32_t lo = KWB_NONE, second = KWB_NONE;
                size_t j;
                for (j = run; j < i; j++) {
                    if (starts[j] < lo) second = lo, lo = starts[j];
                    else if (starts[j] < second) second = starts[j];
                }
                if (second < again) first = lo, again = second;
            }
            run = i;
        }
    }
    kwb__scratch_free(f, starts);
    return again == KWB__U64_MAX ? KWB_OK : kwb__stored_twice(f, first, again, kwb__string_length(f, first));
}

/* Step 15: every byte belongs to a referenced string (the references have
   reached the table's end), and no string is stored twice.  From here on a
   string is identified by its offset. */
static kwb_result kwb__check_string_table(kwb_file *f, int use_allocator)
{
    if (f->next_string_ != f->strings_size_)
        return kwb__fail(f, KWB_ERR_BAD_STRING,
                         "the string table's bytes from offset %u on (%q) are referenced by no record",
                         KWB__U(f->next_string_), kwb__strings(f) + f->next_string_,
                         KWB__U(f->strings_size_ - f->next_string_));
    return use_allocator || f->arena_ ? kwb__string_repeats(f, use_allocator)
                                      : kwb__string_repeats_blocked(f);
}

/* ---- steps 16-18: names, ownership, payload size ------------------------ */

/* The three kinds of unique keys: layer names, tensor names, and (layer,
   weight) pairs of the tensors that have a layer. */
enum { KWB__LAYER_NAMES, KWB__TENSOR_NAMES, KWB__WEIGHTS };

typedef struct kwb__key {
    const unsigned char *s;
    uint32_t length;
    uint32_t layer; /* KWB_NONE for plain names */
} kwb__key;

/* Keys of the file, after step 15: the same string is the same offset. */
static int kwb__file_key_equal(const kwb__key *a, const kwb__key *b)
{
    return a->s == b->s && a->layer == b->layer;
}

static int kwb__key_equal(const kwb__key *a, const kwb__key *b)
{
    return a->length == b->length && a->layer == b->layer && memcmp(a->s, b->s, a->length) == 0;
}

static uint32_t kwb__key_count(const kwb_file *f, int kind)
{
    return kind == KWB__LAYER_NAMES ? f->layer_count : f->tensor_count;
}

/* Item i's key (always filled in); 0 if it has none: a tensor outside any
   layer has no (layer, weight) key. */
static int kwb__key_of(const kwb_file *f, int kind, uint32_t i, kwb__key *k)
{
    const unsigned char *r =
        kind == KWB__LAYER_NAMES ? kwb__layer_record(f, i) : kwb__tensor_record(f, i);
    k->layer = kind == KWB__WEIGHTS ? kwb__u32(r + 24) : KWB_NONE;
    if (kind == KWB__WEIGHTS) r += 8; /* the weight's string reference */
    k->s = kwb__strings(f) + kwb__u32(r);
    k->length = kwb__u32(r + 4);
    return kind != KWB__WEIGHTS || k->layer != KWB_NONE;
}

/* Linear probing in a table of `mask + 1` slots holding item index + 1
   (0 = empty); returns the slot holding `k`, or the empty slot ending it.
   `own`: k is a key of the file, compared by offset (O(1)). */
static size_t kwb__probe(const kwb_file *f, int kind, const uint32_t *slots, size_t mask,
                         const kwb__key *k, uint32_t hash, int own)
{
    size_t j = hash & mask;
    kwb__key other;
    while (slots[j]) {
        kwb__key_of(f, kind, slots[j] - 1, &other);
        if (own ? kwb__file_key_equal(k, &other) : kwb__key_equal(k, &other)) return j;
        j = (j + 1) & mask;
    }
    return j;
}

/* A key's position for the duplicate check: its offset mixed with its layer. */
static uint32_t kwb__offset_hash(const kwb_file *f, const kwb__key *k)
{
    uint64_t x = (uint64_t)(k->s - kwb__strings(f)) * 0x9E3779B97F4A7C15u ^ k->layer;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9u;
    return (uint32_t)(x ^ x >> 32);
}

/* Step 16's message: the key of item `later` is also the key of an earlier
   item (found by one scan). */
static kwb_result kwb__duplicate(kwb_file *f, int kind, uint32_t later)
{
    kwb__key k, other;
    uint32_t i;
    kwb__key_of(f, kind, later, &k);
    for (i = 0; i < later; i++)
        if (kwb__key_of(f, kind, i, &other) && kwb__file_key_equal(&k, &other)) break;
    if (kind == KWB__LAYER_NAMES)
        return kwb__fail(f, KWB_ERR_DUPLICATE_NAME, "layers %u and %u are both named %q", KWB__U(i),
                         KWB__U(later), k.s, KWB__U(k.length));
    if (kind == KWB__TENSOR_NAMES)
        return kwb__fail(f, KWB_ERR_DUPLICATE_NAME, "tensors %u and %u are both named %q", KWB__U(i),
                         KWB__U(later), k.s, KWB__U(k.length));
    return kwb__fail(f, KWB_ERR_DUPLICATE_NAME,
                     "tensors %u and %u are both weight %q of layer %u %q", KWB__U(i), KWB__U(later),
                     k.s, KWB__U(k.length), KWB__U(k.layer), KWB__NAME(f, kwb__layer_record(f, k.layer)));
}

/* The allocation-free duplicate check: a stack table holds one block of
   KWBIN_DUP_BLOCK keys, and every later key is looked up in it, so each
   pair is compared once in O(n^2 / KWBIN_DUP_BLOCK) probes of O(1); the
   work budget counts 8 units per key looked at. */
static kwb_result kwb__has_duplicate_blocked(kwb_file *f, int kind)
{
    uint32_t slots[2 * KWBIN_DUP_BLOCK], n = kwb__key_count(f, kind), start, i;
    const size_t mask = 2 * KWBIN_DUP_BLOCK - 1;
    kwb__key k;
    kwb_result r;
    for (start = 0; start < n; start += (uint32_t)KWBIN_DUP_BLOCK) {
        uint32_t stop = n - start > (uint32_t)KWBIN_DUP_BLOCK ? start + (uint32_t)KWBIN_DUP_BLOCK : n;
        memset(slots, 0, sizeof slots);
        if ((r = kwb__spend(f, 8 * (uint64_t)(n - start))) != KWB_OK) return r;
        for (i = start; i < n; i++) {
            size_t j;
            if (!kwb__key_of(f, kind, i, &k)) continue;
            j = kwb__probe(f, kind, slots, mask, &k, kwb__offset_hash(f, &k), 1);
            if (slots[j]) return kwb__duplicate(f, kind, i);
            if (i < stop) slots[j] = i + 1; /* later keys are only looked up */
        }
        if (stop == n) break; /* (and start += BLOCK cannot wrap) */
    }
    return KWB_OK;
}

/* With marks_: one flag per string start for layer names and tensor names;
   for weights, each layer's tensors (chained through `next`) set and then
   clear a flag.  O(n), no hashing. */
static kwb_result kwb__has_duplicate_marked(kwb_file *f, int use_allocator)
{
    uint32_t i, *chain, *head, *next, repeat = KWB_NONE;
    size_t layers = f->layer_count;
    for (i = 0; i < f->layer_count; i++) {
        unsigned char *m = f->marks_ + kwb__u32(kwb__layer_record(f, i));
        if (*m & KWB__MARK_LAYER) return kwb__duplicate(f, KWB__LAYER_NAMES, i);
        *m |= KWB__MARK_LAYER;
    }
    for (i = 0; i < f->tensor_count; i++) {
        unsigned char *m = f->marks_ + kwb__u32(kwb__tensor_record(f, i));
        if (*m & KWB__MARK_TENSOR) return kwb__duplicate(f, KWB__TENSOR_NAMES, i);
        *m |= KWB__MARK_TENSOR;
    }
    if (!f->layer_count || !f->tensor_count) return KWB_OK;
    /* no overflow: both tables are in memory */
    chain = (uint32_t *)kwb__scratch(f, (uint64_t)(layers + f->tensor_count) * sizeof *chain, use_allocator);
    if (!chain) return kwb__has_duplicate_blocked(f, KWB__WEIGHTS);
    head = chain;
    next = chain + layers;
    memset(head, 0xFF, layers * sizeof *head);
    for (i = f->tensor_count; i-- > 0;) { /* each layer's list in tensor order */
        uint32_t layer = kwb__u32(kwb__tensor_record(f, i) + 24);
        if (layer == KWB_NONE) continue;
        next[i] = head[layer];
        head[layer] = i;
    }
    for (i = 0; i < f->layer_count && repeat == KWB_NONE; i++) {
        uint32_t t;
        for (t = head[i]; t != KWB_NONE && repeat == KWB_NONE; t = next[t]) {
            unsigned char *m = f->marks_ + kwb__u32(kwb__tensor_record(f, t) + 8);
            if (*m & KWB__MARK_WEIGHT) repeat = t;
            *m |= KWB__MARK_WEIGHT;
        }
        for (t = head[i]; t != KWB_NONE; t = next[t])
            f->marks_[kwb__u32(kwb__tensor_record(f, t) + 8)] &= (unsigned char)~KWB__MARK_WEIGHT;
    }
    kwb__scratch_free(f, chain);
    return repeat == KWB_NONE ? KWB_OK : kwb__duplicate(f, KWB__WEIGHTS, repeat);
}

/* ---- the lookup index: names sorted by content ---------------------------- */

/* The index, in u32 items: the layers sorted by name, the tensors sorted by
   name, the tensors that have a layer sorted by (layer, weight's offset),
   the distinct weight strings (offsets) sorted by content, and room to
   sort in.  No hashing: a crafted file cannot make it slow. */
static uint64_t kwb__index_items(const kwb_file *f)
{
    uint64_t layers = f->layer_count, tensors = f->tensor_count;
    return layers + 3 * tensors + (layers > tensors ? layers : tensors) + 1;
}

/* A tensor's (layer, weight) as one number: weights are compared by offset
   (after step 15 the same string is the same offset). */
static uint64_t kwb__weight_key(const kwb_file *f, uint32_t t)
{
    const unsigned char *r = kwb__tensor_record(f, t);
    return (uint64_t)kwb__u32(r + 24) << 32 | kwb__u32(r + 8);
}

static uint64_t kwb__number_key(const kwb_file *f, int weights, uint32_t v)
{
    return weights ? kwb__weight_key(f, v) : v;
}

/* LSD radix sort of a[0, n) (stable, tmp holding n more) by the value itself
   or, with `weights`, by kwb__weight_key: a pass of O(n + 256) per key byte,
   skipped when every key has the same byte there. */
static void kwb__sort_numbers(const kwb_file *f, int weights, uint32_t *a, uint32_t *tmp, size_t n)
{
    size_t count[256], i;
    unsigned shift;
    for (shift = 0; n && shift < (weights ? 64u : 32u); shift += 8) {
        size_t sum = 0;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++) count[(size_t)(kwb__number_key(f, weights, a[i]) >> shift & 0xFF)]++;
        if (count[(size_t)(kwb__number_key(f, weights, a[0]) >> shift & 0xFF)] == n) continue;
        for (i = 0; i < 256; i++) {
            size_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (i = 0; i < n; i++) tmp[count[(size_t)(kwb__number_key(f, weights, a[i]) >> shift & 0xFF)]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Lays the index out in `mem` and fills it: O(name bytes + count) (see
   kwb__radix_sort), names being unique (step 16). */
static void kwb__fill_index(kwb_file *f, uint32_t *mem)
{
    size_t layers = f->layer_count, tensors = f->tensor_count, i, w = 0, d = 0;
    uint32_t *by_name = mem, *tensor_names = by_name + layers, *weights = tensor_names + tensors;
    uint32_t *strings = weights + tensors, *tmp = strings + tensors;
    for (i = 0; i < layers; i++) by_name[i] = (uint32_t)i;
    for (i = 0; i < tensors; i++) tensor_names[i] = (uint32_t)i;
    (void)kwb__sort_strings(f, KWB__SORT_LAYERS, by_name, tmp, layers);
    (void)kwb__sort_strings(f, KWB__SORT_TENSORS, tensor_names, tmp, tensors);
    for (i = 0; i < tensors; i++)
        if (kwb__u32(kwb__tensor_record(f, (uint32_t)i) + 24) != KWB_NONE) weights[w++] = (uint32_t)i;
    kwb__sort_numbers(f, 1, weights, tmp, w);
    /* Each weight string once (sorted by offset, then deduplicated), so a
       string shared by many layers is sorted by content once. */
    for (i = 0; i < w; i++) strings[i] = kwb__u32(kwb__tensor_record(f, weights[i]) + 8);
    kwb__sort_numbers(f, 0, strings, tmp, w);
    for (i = 0; i < w; i++)
        if (!d || strings[i] != strings[d - 1]) strings[d++] = strings[i];
    (void)kwb__sort_strings(f, KWB__SORT_OFFSETS, strings, tmp, d);
    f->weight_count_ = w;
    f->weight_strings_ = d;
    f->index_ = mem;
}

KWBIN_API size_t kwb_index_size(const kwb_file *f)
{
    uint64_t items;
    if (!f || !f->data) return 0;
    items = kwb__index_items(f);
    return items > (uint64_t)(SIZE_MAX / sizeof(uint32_t)) ? 0 : (size_t)items * sizeof(uint32_t);
}

/* Step 16: any repeated name is `duplicate_name`, whichever kind comes first
   (the error is the same), so the kinds may be checked in any order.  Names
   are compared by offset: step 15 made that the same as by content. */
static kwb_result kwb__check_names(kwb_file *f, int use_allocator)
{
    kwb_result r;
    if (f->marks_) return kwb__has_duplicate_marked(f, use_allocator);
    if ((r = kwb__has_duplicate_blocked(f, KWB__LAYER_NAMES)) != KWB_OK ||
        (r = kwb__has_duplicate_blocked(f, KWB__TENSOR_NAMES)) != KWB_OK)
        return r;
    return kwb__has_duplicate_blocked(f, KWB__WEIGHTS);
}

/* The lookup index of an allocating open (after step 16). */
static void kwb__make_index(kwb_file *f)
{
    size_t size = kwb_index_size(f);
    void *mem = size && !f->opt_.no_index ? kwb__alloc(f, size) : NULL;
    if (!mem) return; /* lookups then scan */
    f->owned_index_ = mem;
    kwb__fill_index(f, (uint32_t *)mem);
}

/* Step 17.  After step 14.15 every tensor naming layer L lies in L's range,
   so L is named by at most tensor_count(L) tensors; all layers are named by
   exactly that many iff the two totals agree.  O(n), no memory. */
static kwb_result kwb__check_ownership(kwb_file *f)
{
    uint64_t claimed = 0, named = 0;
    uint32_t i, t;
    for (i = 0; i < f->layer_count; i++) claimed += kwb__u32(kwb__layer_record(f, i) + 32);
    for (i = 0; i < f->tensor_count; i++) named += kwb__u32(kwb__tensor_record(f, i) + 24) != KWB_NONE;
    if (claimed == named) return KWB_OK;
    /* The message: the first layer whose range holds another's tensor.  The
       ranges of the layers before it are disjoint, so this scan is O(n). */
    for (i = 0; i < f->layer_count; i++) {
        const unsigned char *r = kwb__layer_record(f, i);
        uint32_t first = kwb__u32(r + 28), count = kwb__u32(r + 32);
        for (t = first; t < first + count; t++) {
            uint32_t owner = kwb__u32(kwb__tensor_record(f, t) + 24);
            if (owner != i)
                return kwb__fail(f, KWB_ERR_BAD_LAYER,
                                 owner == KWB_NONE
                                     ? "layer %u %q claims tensor %u %q, which names no layer"
                                     : "layer %u %q claims tensor %u %q, which names layer %u",
                                 KWB__U(i), KWB__NAME(f, r), KWB__U(t),
                                 KWB__NAME(f, kwb__tensor_record(f, t)), KWB__U(owner));
        }
    }
    return kwb__fail(f, KWB_ERR_BAD_LAYER, "the layers claim %u tensors, %u tensors name a layer",
                     KWB__U(claimed), KWB__U(named));
}

/* Step 18. */
static kwb_result kwb__check_payload_size(kwb_file *f)
{
    uint64_t want = 0, end;
    if (f->tensor_count) {
        const unsigned char *r = kwb__tensor_record(f, f->tensor_count - 1);
        /* offset + nbytes <= payload end: step 14.14 */
        if (!kwb__align_up(kwb__u64(r + 40) + kwb__u64(r + 48), f->alignment, &end))
            return kwb__fail(f, KWB_ERR_BAD_PAYLOAD, "the last tensor's padded end overflows");
        want = end - f->payload_offset_;
    }
    if (f->payload_size_ == want) return KWB_OK;
    return kwb__fail(f, KWB_ERR_BAD_PAYLOAD,
                     "payload_size is %u, the tensors and their padding make %u", KWB__U(f->payload_size_),
                     KWB__U(want));
}

/* ---- opening ------------------------------------------------------------ */

/* The memory that makes an open linear in the file's size whatever the
   strings (each optional: without it the checks scan instead).  The table
   lies in the file, so these are about 1.1 bytes per table byte (plus the
   sorted string starts and the weight lists, made and freed by their
   checks). */
static void kwb__alloc_scratch(kwb_file *f, int use_allocator)
{
    uint64_t size = f->strings_size_;
    if (size > 64) {
        f->nul_index_ = (uint64_t *)kwb__scratch(f, (size + 63) / 64 * sizeof(uint64_t), use_allocator);
        if (f->nul_index_) kwb__build_nul_index(kwb__strings(f), size, f->nul_index_);
    }
    if (size) {
        f->marks_ = (unsigned char *)kwb__scratch(f, size, use_allocator);
        if (f->marks_) memset(f->marks_, 0, (size_t)size);
    }
}

static void kwb__free_scratch(kwb_file *f)
{
    kwb__scratch_free(f, f->marks_);
    kwb__scratch_free(f, f->nul_index_);
    f->nul_index_ = NULL;
    f->marks_ = NULL;
}

/* What kwb__alloc_scratch and the checks after it take at most, with 8 bytes
   of alignment for each of the (at most three) pieces live at once: the NUL
   index, the marks, and then either the sorted string starts (two u32 per
   string; strings start at reference offsets, so there are at most 3 per
   record) or the weight lists (a u32 per record). */
static uint64_t kwb__work_needed(const kwb_file *f)
{
    uint64_t size = f->strings_size_, refs = 3 * ((uint64_t)f->layer_count + f->tensor_count);
    uint64_t count = size < refs ? size : refs, need = 24 + size;
    uint64_t chain = 4 * ((uint64_t)f->layer_count + f->tensor_count);
    if (size > 64) need += (size + 63) / 64 * 8;
    return need + (8 * count > chain ? 8 * count : chain);
}

/* Steps 13-16, and the lookup index of an allocating open. */
static kwb_result kwb__check_records(kwb_file *f, int use_allocator)
{
    kwb__seen seen;
    kwb_result r;
    memset(&seen, 0, sizeof seen);
    f->seen_ = &seen;
    f->next_string_ = 0;
    if ((r = kwb__check_layers(f)) == KWB_OK && (r = kwb__check_tensors(f)) == KWB_OK &&
        (r = kwb__check_string_table(f, use_allocator)) == KWB_OK &&
        (r = kwb__check_names(f, use_allocator)) == KWB_OK && use_allocator)
        kwb__make_index(f);
    f->seen_ = NULL;
    return r;
}

/* Steps 19-20 with the message naming the tensor (kwb_options.verify). */
static kwb_result kwb__verify_all(kwb_file *f)
{
    uint32_t i;
    for (i = 0; i < f->tensor_count; i++) {
        const unsigned char *r = kwb__tensor_record(f, i);
        uint64_t offset = kwb__u64(r + 40), nbytes = kwb__u64(r + 48);
        kwb_result res = kwb_verify_tensor(f, i);
        if (res == KWB_ERR_TENSOR_CHECKSUM)
            return kwb__fail(f, res, "tensor %u %q: CRC-32 of its %u bytes at %u is %x, the record says %x",
                             KWB__U(i), KWB__NAME(f, r), KWB__U(nbytes), KWB__U(offset),
                             KWB__U(kwb_crc32(0, f->data + (size_t)offset, (size_t)nbytes)),
                             KWB__U(kwb__u32(r + 32)));
        if (res != KWB_OK)
            return kwb__fail(f, res, "tensor %u %q: a padding byte after its data (from %u) is not 0",
                             KWB__U(i), KWB__NAME(f, r), KWB__U(offset + nbytes));
    }
    return KWB_OK;
}

/* Steps 1-18 in order (19-20 too with opt_.verify).  With use_allocator,
   f->opt_ may allocate the scratch memory (freed here) and the lookup index
   (kept); opt_.work, if given, is the scratch memory instead. */
static kwb_result kwb__check(kwb_file *f, int use_allocator)
{
    kwb__gaps gaps;
    kwb_result r;
    if ((r = kwb__check_header(f)) != KWB_OK) return r;
    if ((r = kwb__check_sections(f, &gaps)) != KWB_OK) return r;
    if ((r = kwb__check_extent(f)) != KWB_OK) return r;
    if ((r = kwb__check_header_crc(f)) != KWB_OK) return r;
    if ((r = kwb__check_gaps(f, &gaps)) != KWB_OK) return r;
    if ((r = kwb__check_text(f)) != KWB_OK) return r;
    kwb__set_budget(f);
    if (f->opt_.work) {
        f->arena_ = (unsigned char *)f->opt_.work;
        f->arena_used_ = 0;
    }
    if (use_allocator || f->arena_) kwb__alloc_scratch(f, use_allocator);
    r = kwb__check_records(f, use_allocator);
    kwb__free_scratch(f);
    f->arena_ = NULL;
    f->arena_last_ = NULL;
    if (r == KWB_ERR_NEEDS_MEMORY && use_allocator && !f->opt_.work)
        r = kwb__fail(f, KWB_ERR_OUT_OF_MEMORY,
                      "the allocator failed, and the checks without memory passed their work "
                      "budget (%u units for a file of %u bytes)",
                      KWB__U(f->work_budget_), KWB__U(f->size));
    if (r != KWB_OK) return r;
    if ((r = kwb__check_ownership(f)) != KWB_OK) return r;
    if ((r = kwb__check_payload_size(f)) != KWB_OK) return r;
    return f->opt_.verify ? kwb__verify_all(f) : KWB_OK;
}

static kwb_result kwb__options(kwb_file *f, const kwb_options *opt)
{
    if (opt) {
        f->opt_ = *opt;
        if (!opt->alloc_fn != !opt->free_fn)
            return kwb__fail(f, KWB_ERR_INVALID_ARGUMENT,
                             "kwb_options: set both alloc_fn and free_fn, or neither");
    }
    return KWB_OK;
}

/* Releases everything an open acquired and zeroes the file. */
KWBIN_API void kwb_close(kwb_file *f)
{
    if (!f) return;
    kwb__free(f, f->owned_index_);
    kwb__free(f, f->owned_data_);
#ifdef KWB__POSIX
    if (f->map_addr_) munmap(f->map_addr_, f->map_size_);
#endif
    memset(f, 0, sizeof *f);
}

/* A failed open releases everything but keeps its message. */
static kwb_result kwb__failed(kwb_file *f, kwb_result r)
{
    char message[KWB_MESSAGE_SIZE];
    memcpy(message, f->message, sizeof message);
    kwb_close(f);
    memcpy(f->message, message, sizeof message);
    return r;
}

static kwb_result kwb__open(kwb_file *f, const void *data, size_t size, int use_allocator)
{
    kwb_result r;
    if (!data && size) {
        r = kwb__fail(f, KWB_ERR_INVALID_ARGUMENT, "data is NULL, size is %u", KWB__U(size));
    } else {
        f->data = (const unsigned char *)data;
        f->size = size;
        r = kwb__check(f, use_allocator);
    }
    return r == KWB_OK ? r : kwb__failed(f, r);
}

KWBIN_API kwb_result kwb_open_memory(kwb_file *f, const void *data, size_t size)
{
    if (!f) return KWB_ERR_INVALID_ARGUMENT;
    memset(f, 0, sizeof *f);
    return kwb__open(f, data, size, 0);
}

KWBIN_API kwb_result kwb_open_memory_ex(kwb_file *f, const void *data, size_t size,
                                        const kwb_options *opt)
{
    kwb_result r;
    if (!f) return KWB_ERR_INVALID_ARGUMENT;
    memset(f, 0, sizeof *f);
    if ((r = kwb__options(f, opt)) != KWB_OK) return kwb__failed(f, r);
    return kwb__open(f, data, size, 1);
}

KWBIN_API size_t kwb_open_work_size(const void *data, size_t size)
{
    kwb_file f;
    kwb__gaps gaps;
    uint64_t need;
    memset(&f, 0, sizeof f);
    f.data = (const unsigned char *)data;
    f.size = size;
    /* A file refused before step 11 needs no memory. */
    if (!data || kwb__check_header(&f) != KWB_OK || kwb__check_sections(&f, &gaps) != KWB_OK ||
        kwb__check_extent(&f) != KWB_OK)
        return 0;
    need = kwb__work_needed(&f);
    return need > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)need;
}

KWBIN_API kwb_result kwb_build_index(kwb_file *f, void *mem, size_t size)
{
    size_t need = kwb_index_size(f);
    if (!f || !mem || !need || size < need || ((uintptr_t)mem & 3)) return KWB_ERR_INVALID_ARGUMENT;
    kwb__free(f, f->owned_index_);
    f->owned_index_ = NULL;
    kwb__fill_index(f, (uint32_t *)mem); /* names are unique: checked at open */
    return KWB_OK;
}

#ifndef KWBIN_NO_STDIO
/* errno's text, or `otherwise` when errno says nothing. */
static const char *kwb__errno_text(const char *otherwise)
{
    return errno ? strerror(errno) : otherwise;
}

/* Reads the whole file into memory from the allocator. */
static kwb_result kwb__read_file(kwb_file *f, const char *path)
{
    FILE *fp;
    unsigned char *buf = NULL;
    size_t size, got = 0;
    long end;
    errno = 0;
    if (!(fp = fopen(path, "rb")))
        return kwb__fail(f, KWB_ERR_IO, "cannot open '%s': %s", path, kwb__errno_text("fopen failed"));
    if (fseek(fp, 0, SEEK_END) != 0 || (end = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        kwb__fail(f, KWB_ERR_IO, "cannot find the size of '%s': %s", path,
                  kwb__errno_text("fseek/ftell failed"));
        fclose(fp);
        return KWB_ERR_IO;
    }
    size = (size_t)end;
    if ((uint64_t)size != (uint64_t)end || (size && !(buf = (unsigned char *)kwb__alloc(f, size)))) {
        fclose(fp);
        return kwb__fail(f, KWB_ERR_OUT_OF_MEMORY, "cannot allocate %u bytes to read '%s'",
                         KWB__U(end), path);
    }
    errno = 0;
    while (got < size) {
        size_t k = fread(buf + got, 1, size - got, fp);
        if (k == 0) break;
        got += k;
    }
    if (got != size || ferror(fp)) {
        kwb__fail(f, KWB_ERR_IO, "cannot read '%s': %s", path,
                  kwb__errno_text("it ended before its size"));
        kwb__free(f, buf);
        fclose(fp);
        return KWB_ERR_IO;
    }
    fclose(fp);
    f->owned_data_ = buf;
    f->data = buf;
    f->size = size;
    return KWB_OK;
}

#ifdef KWB__POSIX
/* Maps a regular file read-only; falls back to reading it. */
static kwb_result kwb__map_file(kwb_file *f, const char *path)
{
    struct stat st;
    size_t size;
    void *addr;
    int fd;
    /* Refuse FIFOs and devices before opening them: opening a FIFO blocks. */
    errno = 0;
    if (stat(path, &st) != 0)
        return kwb__fail(f, KWB_ERR_IO, "cannot open '%s': %s", path, kwb__errno_text("stat failed"));
    if (S_ISDIR(st.st_mode)) return kwb__fail(f, KWB_ERR_IO, "'%s' is a directory", path);
    if (!S_ISREG(st.st_mode))
        return kwb__fail(f, KWB_ERR_NOT_KWBIN, "'%s' is not a regular file (a FIFO, device or socket)",
                         path);
    if (f->opt_.no_mmap) return kwb__read_file(f, path);
    if ((fd = open(path, O_RDONLY)) < 0)
        return kwb__fail(f, KWB_ERR_IO, "cannot open '%s': %s", path, kwb__errno_text("open failed"));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        kwb__fail(f, KWB_ERR_IO, "'%s' changed while being opened", path);
        close(fd);
        return KWB_ERR_IO;
    }
    size = (size_t)st.st_size;
    if (st.st_size < 0 || (uint64_t)size != (uint64_t)st.st_size) {
        close(fd);
        return kwb__fail(f, KWB_ERR_IO, "'%s' has %u bytes, more than this host can map", path,
                         KWB__U(st.st_size));
    }
    if (size == 0) { /* mmap refuses empty files; the check says "truncated" */
        close(fd);
        return KWB_OK;
    }
    addr = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (addr == MAP_FAILED) return kwb__read_file(f, path);
    f->map_addr_ = addr;
    f->map_size_ = size;
    f->data = (const unsigned char *)addr;
    f->size = size;
    return KWB_OK;
}
#endif

KWBIN_API kwb_result kwb_open_path(kwb_file *f, const char *path, const kwb_options *opt)
{
    kwb_result r;
    if (!f) return KWB_ERR_INVALID_ARGUMENT;
    memset(f, 0, sizeof *f);
    if (!path) return kwb__fail(f, KWB_ERR_INVALID_ARGUMENT, "path is NULL");
    if ((r = kwb__options(f, opt)) != KWB_OK) return kwb__failed(f, r);
#ifdef KWB__POSIX
    r = kwb__map_file(f, path);
#else
    r = kwb__read_file(f, path);
#endif
    if (r != KWB_OK) return kwb__failed(f, r);
    return kwb__open(f, f->data, f->size, 1);
}
#endif /* KWBIN_NO_STDIO */

/* ---- reading ------------------------------------------------------------ */

KWBIN_API uint32_t kwb_layer_count(const kwb_file *f) { return f ? f->layer_count : 0; }

KWBIN_API uint32_t kwb_tensor_count(const kwb_file *f) { return f ? f->tensor_count : 0; }

KWBIN_API kwb_result kwb_get_layer(const kwb_file *f, uint32_t i, kwb_layer *out)
{
    const unsigned char *r;
    const char *s;
    if (!f || !out || i >= f->layer_count) return KWB_ERR_INVALID_ARGUMENT;
    r = kwb__layer_record(f, i);
    s = (const char *)kwb__strings(f);
    out->name = s + kwb__u32(r);
    out->name_length = kwb__u32(r + 4);
    out->class_name = s + kwb__u32(r + 8);
    out->class_name_length = kwb__u32(r + 12);
    out->config = s + kwb__u32(r + 16);
    out->config_length = kwb__u32(r + 20);
    out->index = i;
    out->parent = kwb__u32(r + 24);
    out->first_tensor = kwb__u32(r + 28);
    out->tensor_count = kwb__u32(r + 32);
    return KWB_OK;
}

KWBIN_API kwb_result kwb_get_tensor(const kwb_file *f, uint32_t i, kwb_tensor *out)
{
    const unsigned char *r;
    const char *s;
    unsigned d;
    if (!f || !out || i >= f->tensor_count) return KWB_ERR_INVALID_ARGUMENT;
    r = kwb__tensor_record(f, i);
    s = (const char *)kwb__strings(f);
    out->name = s + kwb__u32(r);
    out->name_length = kwb__u32(r + 4);
    out->weight = s + kwb__u32(r + 8);
    out->weight_length = kwb__u32(r + 12);
    out->source = s + kwb__u32(r + 16);
    out->source_length = kwb__u32(r + 20);
    out->index = i;
    out->layer = kwb__u32(r + 24);
    out->dtype = (kwb_dtype)r[28];
    out->ndim = r[29];
    out->crc32 = kwb__u32(r + 32);
    out->offset = kwb__u64(r + 40);
    out->nbytes = kwb__u64(r + 48);
    for (d = 0; d < KWB_MAX_NDIM; d++) out->shape[d] = kwb__u64(r + 56 + 8 * d);
    out->count = out->nbytes / kwb__dtype_sizes[r[28]]; /* exact, and 0 for an empty shape */
    out->data = f->data + (size_t)out->offset;
    return KWB_OK;
}

/* A query of n bytes (no NUL) against a NUL-terminated string of the file,
   both known to share their first *same bytes, in the order of
   kwb__sort_strings: <0, 0 or >0, and *same set to their common prefix. */
static int kwb__compare_query(const unsigned char *q, size_t n, const unsigned char *s, size_t *same)
{
    size_t i;
    for (i = *same; i < n; i++)
        if (q[i] != s[i]) break; /* also where s ends: q[i] > 0 */
    *same = i;
    if (i < n) return (int)q[i] - (int)s[i];
    return s[n] == 0 ? 0 : -1;
}

/* Binary search of the string k->s in a[0, n), sorted by the keys of `kind`:
   its position, or n.  Every key between two keys shares their common
   prefix, so comparisons start after the shorter of the query's common
   prefixes with the bounds: O(k->length + log n) in practice, never more
   than O(k->length * log n). */
static size_t kwb__search(const kwb_file *f, int kind, const uint32_t *a, size_t n, const kwb__key *k)
{
    size_t lo = 0, hi = n, same_lo = 0, same_hi = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, same = same_lo < same_hi ? same_lo : same_hi;
        int c = kwb__compare_query(k->s, k->length, kwb__key_string(f, kind, a[mid]), &same);
        if (c == 0) return mid;
        if (c < 0) {
            hi = mid;
            same_hi = same;
        } else {
            lo = mid + 1;
            same_lo = same;
        }
    }
    return n;
}

/* Binary search of a (layer, weight offset) key among the index's weights. */
static int kwb__search_weight(const kwb_file *f, uint64_t key, uint32_t *found)
{
    const uint32_t *weights = f->index_ + f->layer_count + f->tensor_count;
    size_t lo = 0, hi = f->weight_count_;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t at = kwb__weight_key(f, weights[mid]);
        if (at == key) {
            *found = weights[mid];
            return 1;
        }
        if (key < at) hi = mid;
        else lo = mid + 1;
    }
    return 0;
}

/* Where item `k` is: through the index if there is one (binary searches),
   else by scanning items [lo, hi).  1 and *found if present. */
static int kwb__find(const kwb_file *f, int kind, const kwb__key *k, uint32_t lo, uint32_t hi,
                     uint32_t *found)
{
    kwb__key other;
    uint32_t i;
    if (f->index_) {
        const uint32_t *layers = f->index_, *tensors = layers + f->layer_count;
        const uint32_t *strings = tensors + 2 * (size_t)f->tensor_count;
        size_t j;
        if (kind == KWB__LAYER_NAMES) {
            j = kwb__search(f, KWB__SORT_LAYERS, layers, f->layer_count, k);
            if (j == f->layer_count) return 0;
            *found = layers[j];
            return 1;
        }
        if (kind == KWB__TENSOR_NAMES) {
            j = kwb__search(f, KWB__SORT_TENSORS, tensors, f->tensor_count, k);
            if (j == f->tensor_count) return 0;
            *found = tensors[j];
            return 1;
        }
        j = kwb__search(f, KWB__SORT_OFFSETS, strings, f->weight_strings_, k);
        return j < f->weight_strings_ && kwb__search_weight(f, (uint64_t)k->layer << 32 | strings[j], found);
    }
    for (i = lo; i < hi; i++)
        if (kwb__key_of(f, kind, i, &other) && kwb__key_equal(k, &other)) {
            *found = i;
            return 1;
        }
    return 0;
}

/* A C string as a key; 0 if it is too long to be any name. */
static int kwb__query(const char *s, uint32_t layer, kwb__key *k)
{
    size_t n = strlen(s);
    if (n >= KWB_NONE) return 0;
    k->s = (const unsigned char *)s;
    k->length = (uint32_t)n;
    k->layer = layer;
    return 1;
}

KWBIN_API kwb_result kwb_find_layer(const kwb_file *f, const char *name, kwb_layer *out)
{
    kwb__key k;
    uint32_t i;
    if (!f || !name || !out) return KWB_ERR_INVALID_ARGUMENT;
    if (!kwb__query(name, KWB_NONE, &k) ||
        !kwb__find(f, KWB__LAYER_NAMES, &k, 0, f->layer_count, &i))
        return KWB_ERR_NOT_FOUND;
    return kwb_get_layer(f, i, out);
}

KWBIN_API kwb_result kwb_find_tensor(const kwb_file *f, const char *name, kwb_tensor *out)
{
    kwb__key k;
    uint32_t i;
    if (!f || !name || !out) return KWB_ERR_INVALID_ARGUMENT;
    if (!kwb__query(name, KWB_NONE, &k) ||
        !kwb__find(f, KWB__TENSOR_NAMES, &k, 0, f->tensor_count, &i))
        return KWB_ERR_NOT_FOUND;
    return kwb_get_tensor(f, i, out);
}

KWBIN_API kwb_result kwb_find_weight(const kwb_file *f, const char *layer, const char *weight,
                                     kwb_tensor *out)
{
    kwb_layer l;
    kwb__key k;
    uint32_t i;
    kwb_result r;
    if (!f || !layer || !weight || !out) return KWB_ERR_INVALID_ARGUMENT;
    if ((r = kwb_find_layer(f, layer, &l)) != KWB_OK) return r;
    /* Without an index, only the layer's own tensors are scanned. */
    if (!kwb__query(weight, l.index, &k) ||
        !kwb__find(f, KWB__WEIGHTS, &k, l.first_tensor, l.first_tensor + l.tensor_count, &i))
        return KWB_ERR_NOT_FOUND;
    return kwb_get_tensor(f, i, out);
}

KWBIN_API const char *kwb_metadata(const kwb_file *f, size_t *length)
{
    if (length) *length = f && f->data ? (size_t)f->metadata_size_ : 0;
    return f && f->data ? (const char *)f->data + (size_t)f->metadata_offset_ : NULL;
}

/* ---- steps 19-20: verify ------------------------------------------------ */

KWBIN_API kwb_result kwb_verify_tensor(const kwb_file *f, uint32_t i)
{
    const unsigned char *r;
    uint64_t offset, end, padded;
    if (!f || i >= f->tensor_count) return KWB_ERR_INVALID_ARGUMENT;
    r = kwb__tensor_record(f, i);
    offset = kwb__u64(r + 40);
    end = offset + kwb__u64(r + 48); /* inside the payload: checked at open */
    if (kwb_crc32(0, f->data + (size_t)offset, (size_t)(end - offset)) != kwb__u32(r + 32))
        return KWB_ERR_TENSOR_CHECKSUM;
    /* The padded end is the next tensor's start or the payload's end (step 18). */
    if (!kwb__align_up(end, f->alignment, &padded) ||
        !kwb__all_zero(f->data + (size_t)end, (size_t)(padded - end)))
        return KWB_ERR_BAD_PADDING;
    return KWB_OK;
}

KWBIN_API kwb_result kwb_verify(const kwb_file *f)
{
    uint32_t i;
    if (!f || !f->data) return KWB_ERR_INVALID_ARGUMENT;
    for (i = 0; i < f->tensor_count; i++) {
        kwb_result r = kwb_verify_tensor(f, i);
        if (r != KWB_OK) return r;
    }
    return KWB_OK;
}

/* ---- float conversion --------------------------------------------------- */

KWBIN_API const float *kwb_tensor_f32(const kwb_tensor *t)
{
    if (!t || t->dtype != KWB_FLOAT32 || !kwb__little_endian_host() || ((uintptr_t)t->data & 3))
        return NULL;
    return (const float *)t->data;
}

static float kwb__f32_from_bits(uint32_t bits)
{
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* IEEE binary16 -> binary32, exact for every input (binary32 holds them all). */
static float kwb__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu, shift = 0;
    if (exponent == 0x1F) /* infinity, or NaN with its payload */
        return kwb__f32_from_bits(sign | 0x7F800000u | mantissa << 13);
    if (exponent) /* normal: rebias 15 -> 127 */
        return kwb__f32_from_bits(sign | (exponent + 112) << 23 | mantissa << 13);
    if (!mantissa) return kwb__f32_from_bits(sign); /* +-0 */
    while (!(mantissa & 0x400u)) { /* subnormal: m * 2^-24, normalised */
        mantissa <<= 1;
        shift++;
    }
    return kwb__f32_from_bits(sign | (113 - shift) << 23 | (mantissa & 0x3FFu) << 13);
}

/* binary64 -> binary32 rounded to nearest, as IEEE 754 says; spelled out
   where C99 leaves it undefined (out of range) or loose (NaN payloads). */
static float kwb__f64_to_f32(uint64_t bits)
{
    /* 2^128 - 2^103: halfway between FLT_MAX and 2^128; from here on, inf. */
    const double overflow = 340282356779733661637539395458142568448.0;
    uint32_t sign = (uint32_t)(bits >> 32) & 0x80000000u;
    double x;
    memcpy(&x, &bits, sizeof x);
    if (x != x) /* NaN: quiet, keeping the payload's top bits */
        return kwb__f32_from_bits(sign | 0x7FC00000u | ((uint32_t)(bits >> 29) & 0x7FFFFFu));
    if (x >= overflow || x <= -overflow) return kwb__f32_from_bits(sign | 0x7F800000u);
    return (float)x;
}

KWBIN_API kwb_result kwb_copy_f32(const kwb_tensor *t, float *dst, size_t count)
{
    const unsigned char *p;
    size_t i, n;
    if (!t) return KWB_ERR_INVALID_ARGUMENT;
    if (t->dtype != KWB_FLOAT32 && t->dtype != KWB_FLOAT16 && t->dtype != KWB_BFLOAT16 &&
        t->dtype != KWB_FLOAT64)
        return KWB_ERR_UNSUPPORTED_DTYPE;
    if ((uint64_t)count < t->count || (t->count && !dst) ||
        t->nbytes / kwb_dtype_size(t->dtype) != t->count)
        return KWB_ERR_INVALID_ARGUMENT;
    p = (const unsigned char *)t->data;
    n = (size_t)t->count;
    switch (t->dtype) {
    case KWB_FLOAT32:
        if (kwb__little_endian_host()) {
            if (n) memcpy(dst, p, n * 4);
        } else {
            for (i = 0; i < n; i++) dst[i] = kwb__f32_from_bits(kwb__u32(p + 4 * i));
        }
        break;
    case KWB_FLOAT16:
        for (i = 0; i < n; i++) dst[i] = kwb__f16_to_f32(kwb__u16(p + 2 * i));
        break;
    case KWB_BFLOAT16:
        for (i = 0; i < n; i++) dst[i] = kwb__f32_from_bits((uint32_t)kwb__u16(p + 2 * i) << 16);
        break;
    default: /* KWB_FLOAT64 */
        for (i = 0; i < n; i++) dst[i] = kwb__f64_to_f32(kwb__u64(p + 8 * i));
        break;
    }
    return KWB_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* KWBIN_IMPLEMENTATION */
