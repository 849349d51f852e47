/*
 * mailhound/limits.h -- every resource limit of the library, in one place
 *
 * Exceeding a limit is an error for the one record / rule / message / key
 * concerned (MH_ELIMIT, reported and counted), never a crash and never an
 * unbounded allocation. Long-lived containers evict as documented next to
 * their cap and count what they evicted.
 */
#ifndef MAILHOUND_LIMITS_H
#define MAILHOUND_LIMITS_H

/* ---- ingest ---- */
#define MH_MAX_RECORD_BYTES (64u << 20)   /* one JSON record / CSV row (decoded) */
#define MH_READ_CHUNK_BYTES (4u << 20)    /* read() granularity of the input layer */
#define MH_MAX_PATH_DEPTH 64              /* directory recursion */
#define MH_MAX_DECOMPRESSED_RATIO 2000u   /* zip-bomb guard: out/in bytes per file */
#define MH_MAX_CSV_COLUMNS 1024
#define MH_MAX_CSV_HEADER_BYTES (1u << 20)

/* ---- JSON reader ---- */
#define MH_JSON_MAX_DEPTH 128             /* nesting of arrays/objects */
#define MH_JSON_MAX_NODES (16u << 20)     /* tape entries per document */
#define MH_JSON_MAX_NESTED_DEPTH 4        /* JSON-in-string decoded lazily, levels */

/* ---- events ---- */
#define MH_MAX_FIELDS_PER_EVENT 65536     /* leaves visited when enumerating an event */
#define MH_MAX_FIELD_PATH 512             /* bytes in a field path */
#define MH_EVENT_ARENA_BYTES (256u << 20) /* scratch per batch for lazy decoding */

/* ---- rules ---- */
#define MH_MAX_RULE_FILE_BYTES (16u << 20)
#define MH_MAX_RULES 100000
#define MH_MAX_CONDITION_DEPTH 64
#define MH_MAX_VALUES_PER_ITEM 4096       /* after windash/base64offset expansion */
#define MH_MAX_REGEX_BYTES 65536

/* ---- correlation / stateful detectors ---- */
#define MH_MAX_KEYS_PER_CORRELATION 1000000 /* groups tracked; LRU eviction, counted */
#define MH_MAX_EVENTS_PER_KEY 100000        /* window entries per group; oldest evicted */
#define MH_MAX_DISTINCT_PER_KEY 100000      /* distinct values per group; saturates */

/* ---- mail ---- */
#define MH_MAX_MESSAGE_BYTES (256u << 20)
#define MH_MAX_MIME_DEPTH 32
#define MH_MAX_FRAGMENT_BYTES (32u << 20)

/* ---- threads ---- */
#define MH_MAX_THREADS 64
#define MH_BATCH_RECORDS 4096
#define MH_BATCH_BYTES (8u << 20)

#endif
