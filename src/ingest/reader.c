/*
 * ingest/reader.c -- inputs to batches of records (see reader.h)
 *
 * Pipeline: [ingest: reader] -> normalize -> match -> correlate.
 *
 * Per file the bytes flow through four stages, each bounded by the chunk
 * size (opts.chunk_bytes, default MH_READ_CHUNK_BYTES):
 *
 *   source --raw--> decompress --mid--> text --window--> split.c | csv.c
 *
 *   raw    compressed bytes; the first 6 decide gzip / zstd / none (zip, 7z,
 *          xz, bzip2 are reported as unsupported);
 *   mid    decompressed bytes; the first MH_DETECT_PREFIX_BYTES decide the
 *          text encoding (BOM / UTF-16LE without BOM / UTF-8);
 *   window decoded UTF-8 text, absolute offsets [win_base, win_base+win_len).
 *          Its first non-space byte decides JSON ('[' or '{') or CSV. The
 *          scanner (split.c or csv.c) walks it and says how much it still
 *          needs (the open record); the rest is dropped before each refill,
 *          so the window holds at most one record plus one chunk.
 * Fast path: uncompressed UTF-8 is read straight into the window. A file
 * smaller than the chunk is read with reads of its size (r->io), so small
 * files (and fuzz inputs) do not touch megabytes of buffer.
 *
 * Offsets are into the decoded text; for UTF-8 input they count the BOM, so
 * they equal byte offsets in the (decompressed) file. For UTF-16 input they
 * are offsets into the UTF-8 conversion (a decoding error reports the offset
 * in the UTF-16 bytes).
 *
 * Errors of a stage (read error, corrupt or truncated stream, zip-bomb
 * guard, invalid UTF-16) are recorded as the file's fatal error; the stage
 * then behaves as if its input ended, so every byte decoded before the fault
 * still reaches the scanner and complete records are delivered. When the
 * scanner needs more and the text ended by a fault, the fault is reported
 * (fatal=true), the open partial record is dropped with it, and the file is
 * closed.
 *
 * Not a log: a file met while walking a folder whose text is neither JSON
 * nor a CSV with a header row is skipped with one non-fatal report and
 * counted in files_not_logs (unrecognised()); the same file named by the
 * caller is a failed file. The decision is made where the format is, so
 * every command that reads logs (cat, stats, hunt, scope) agrees.
 *
 * Inputs: a list of paths/buffers in the order added; a directory is
 * expanded when reached (entries sorted by strcmp, depth-first, at most
 * MH_MAX_PATH_DEPTH levels) through a stack, so walking is O(entries).
 * Symbolic links are followed (the depth limit and MH_MAX_INPUT_FILES bound
 * a link loop).
 * Each file also gets a key, its name relative to the input it was found
 * under (reader.h): the walk carries, per entry, where in its path the name
 * below the caller's folder starts, so the key is a suffix of the name.
 *
 * Batches: each record's bytes are copied into b->mem (JSON: the element;
 * CSV: the synthesised object, then the row text), so a filled batch stays
 * valid while the reader fills another. Offsets are kept in b->priv during
 * the fill and turned into pointers at the end (b->mem may move while it
 * grows).
 *
 * Sizes and speed: chunks (256 KiB) and batches (1 MiB) are sized for the
 * CPU cache, not for fewer calls: the splitter scans a chunk right after
 * read() wrote it, and a worker matches a batch right after it was filled,
 * so both find the bytes cached. With 4 MiB / 8 MiB the same hunt took 25%
 * more CPU on 200 MB (docs/hunt.md, Performance). The copy into b->mem
 * stays: on the measuring VM neither mmap (records pointing into the
 * mapping; page faults and first-touch misses moved into the splitter) nor
 * records pointing into shared read buffers paid once the sizes were right.
 *
 * Thread-safety: one thread per reader; distinct readers are independent.
 */
#include "ingest/reader.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ingest/csv.h"
#include "ingest/decompress.h"
#include "ingest/detect.h"
#include "ingest/source.h"
#include "ingest/split.h"
#include "ingest/text.h"
#include "mailhound/limits.h"

enum input_kind { IN_PATH, IN_MEMORY, IN_STDIN };

struct input {
    enum input_kind kind;
    char *path;      /* heap; IN_MEMORY: the name */
    const void *mem; /* IN_MEMORY (borrowed) */
    size_t mem_len;
    uint32_t depth; /* directory depth (0 = given by the caller) */
    size_t key_off; /* depth > 0: where the name below the caller's folder starts */
};

struct file_info {
    char *name;
    size_t key_off; /* name + key_off: the name relative to its input root (see reader.h) */
    enum mh_format format;
};

enum scan_kind { SCAN_NONE, SCAN_JSON, SCAN_CSV };

struct batch_priv {
    uint64_t *json_off, *raw_off;
    size_t cap;
};

struct mh_reader {
    struct mh_reader_opts opts;
    size_t chunk, batch_records, batch_bytes, max_record;
    size_t io; /* read size for the open file: chunk, or less for a small file */
    struct mh_ingest_stats stats;

    struct input *inputs; /* in the order added */
    size_t ninputs, inputs_cap, next_input;
    struct input *walk; /* directory walk stack (top = next) */
    size_t nwalk, walk_cap;
    uint64_t visited; /* inputs reached, bounded by MH_MAX_INPUT_FILES */

    struct file_info *files;
    size_t nfiles, files_cap;

    /* the open file */
    bool open;
    bool cur_walked; /* met while walking a folder (not named by the caller) */
    uint32_t cur;
    struct mh_source src;
    bool src_eof;
    enum mh_compression comp;
    mh_decomp *dec;
    bool mid_eof;
    enum mh_encoding enc;
    struct mh_text text;
    bool text_eof;
    bool fatal; /* a stage failed; reported when the text runs dry */
    mh_error fatal_err;

    unsigned char *raw;
    size_t raw_pos, raw_len, raw_cap;
    unsigned char *mid;
    size_t mid_pos, mid_len, mid_cap;
    char *win;
    size_t win_len, win_cap, win_max;
    uint64_t win_base;

    enum scan_kind scan;
    size_t det_pos; /* container detection progress in the window */
    struct mh_split split;
    struct mh_csv csv;
    bool csv_ready;
    struct mh_csv_map map;
    bool have_map;
    bool type_line_checked;
};

/* ---------------------------------------------------------------- batches */

void mh_batch_init(struct mh_batch *b)
{
    memset(b, 0, sizeof *b);
    mh_buf_init(&b->mem, 0);
}

void mh_batch_fini(struct mh_batch *b)
{
    if (!b) return;
    struct batch_priv *bp = b->priv;
    if (bp) {
        mh_free(bp->json_off);
        mh_free(bp->raw_off);
        mh_free(bp);
    }
    mh_free(b->recs);
    mh_buf_fini(&b->mem);
    memset(b, 0, sizeof *b);
}

static mh_status batch_reserve(struct mh_batch *b, size_t limit)
{
    struct batch_priv *bp = b->priv;
    if (!bp) {
        bp = mh_calloc(1, sizeof *bp);
        if (!bp) return MH_ENOMEM;
        b->priv = bp;
    }
    if (b->n < b->cap && b->n < bp->cap) return MH_OK;
    size_t nc = b->cap ? b->cap * 2 : 64;
    if (nc > limit) nc = limit;
    if (nc <= b->n) nc = b->n + 1;
    if (nc > b->cap) {
        struct mh_record *nr = mh_realloc(b->recs, nc * sizeof *nr);
        if (!nr) return MH_ENOMEM;
        b->recs = nr;
        b->cap = nc;
    }
    if (nc > bp->cap) {
        uint64_t *j = mh_realloc(bp->json_off, nc * sizeof *j);
        if (!j) return MH_ENOMEM;
        bp->json_off = j;
        uint64_t *r = mh_realloc(bp->raw_off, nc * sizeof *r);
        if (!r) return MH_ENOMEM;
        bp->raw_off = r;
        bp->cap = nc;
    }
    return MH_OK;
}

/* ------------------------------------------------------------ the reader */

mh_status mh_reader_new(const struct mh_reader_opts *opts, mh_reader **out)
{
    mh_reader *r = mh_calloc(1, sizeof *r);
    if (!r) return MH_ENOMEM;
    if (opts) r->opts = *opts;
    r->chunk = r->opts.chunk_bytes ? r->opts.chunk_bytes : MH_READ_CHUNK_BYTES;
    r->batch_records = r->opts.batch_records ? r->opts.batch_records : MH_BATCH_RECORDS;
    r->batch_bytes = r->opts.batch_bytes ? r->opts.batch_bytes : MH_BATCH_BYTES;
    r->max_record = r->opts.max_record_bytes ? r->opts.max_record_bytes : MH_MAX_RECORD_BYTES;
    if (r->max_record > MH_MAX_RECORD_BYTES) r->max_record = MH_MAX_RECORD_BYTES;
    if (r->chunk > MH_READ_CHUNK_BYTES) r->chunk = MH_READ_CHUNK_BYTES;
    r->src.fd = -1;
    *out = r;
    return MH_OK;
}

static void close_file(mh_reader *r);
static void fail_file(mh_reader *r, mh_error *e);

void mh_reader_free(mh_reader *r)
{
    if (!r) return;
    close_file(r);
    for (size_t i = 0; i < r->ninputs; i++) mh_free(r->inputs[i].path);
    mh_free(r->inputs);
    for (size_t i = 0; i < r->nwalk; i++) mh_free(r->walk[i].path);
    mh_free(r->walk);
    for (size_t i = 0; i < r->nfiles; i++) mh_free(r->files[i].name);
    mh_free(r->files);
    mh_free(r->raw);
    mh_free(r->mid);
    mh_free(r->win);
    mh_free(r);
}

static mh_status add_input(mh_reader *r, enum input_kind kind, const char *name, const void *mem,
                           size_t len)
{
    if (r->ninputs >= MH_MAX_INPUT_FILES) return MH_ELIMIT;
    if (MH_GROW(r->inputs, r->inputs_cap, r->ninputs + 1, 8, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    char *p = mh_strdup(name);
    if (!p) return MH_ENOMEM;
    r->inputs[r->ninputs++] = (struct input){kind, p, mem, len, 0, 0};
    return MH_OK;
}

mh_status mh_reader_add_path(mh_reader *r, const char *path)
{
    if (!path || !*path) return MH_EINVAL;
    if (strcmp(path, "-") == 0) return add_input(r, IN_STDIN, "-", NULL, 0);
    return add_input(r, IN_PATH, path, NULL, 0);
}

mh_status mh_reader_add_memory(mh_reader *r, const char *name, const void *data, size_t len)
{
    if (!data && len) return MH_EINVAL;
    return add_input(r, IN_MEMORY, name ? name : "<memory>", data ? data : "", len);
}

const char *mh_reader_file_name(const mh_reader *r, uint32_t file)
{
    return file < r->nfiles ? r->files[file].name : NULL;
}

const char *mh_reader_file_key(const mh_reader *r, uint32_t file)
{
    return file < r->nfiles ? r->files[file].name + r->files[file].key_off : NULL;
}

enum mh_format mh_reader_file_format(const mh_reader *r, uint32_t file)
{
    return file < r->nfiles ? r->files[file].format : MH_FMT_UNKNOWN;
}

const struct mh_ingest_stats *mh_reader_stats(const mh_reader *r)
{
    return &r->stats;
}

/* ------------------------------------------------------------ reporting */

static const char *cur_name(const mh_reader *r)
{
    return r->cur < r->nfiles ? r->files[r->cur].name : "";
}

static void report(mh_reader *r, mh_error *e, bool fatal)
{
    if (fatal)
        r->stats.files_failed++;
    else
        r->stats.records_skipped++;
    if (r->opts.on_bad) r->opts.on_bad(r->opts.ctx, e, fatal);
}

static void report_item(mh_reader *r, const struct mh_split_item *it)
{
    mh_error e;
    mh_error_clear(&e);
    mh_error_set(&e, it->code ? it->code : MH_EPARSE, it->reason, "%s", it->detail);
    mh_error_at(&e, cur_name(r), it->line, 0, it->start, it->number);
    report(r, &e, false);
}

/* Report a file-level failure; keeps the offset the failing stage set. */
static void report_fatal(mh_reader *r, const char *name, mh_error *e)
{
    uint64_t off = e->offset;
    mh_error_at(e, name, 0, 0, off, 0);
    report(r, e, true);
}

static void set_fatal(mh_reader *r, mh_status st, const mh_error *e)
{
    if (r->fatal) return;
    r->fatal = true;
    r->fatal_err = *e;
    if (!r->fatal_err.code) r->fatal_err.code = st;
}

/* ------------------------------------------------------------ input walk */

/* Offset of the last path component of p (after its last '/'). */
static size_t base_off(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? (size_t)(s + 1 - p) : 0;
}

/* Where the key (reader.h, mh_reader_file_key) of input `in` starts in its
 * path: below the caller's folder for a walked entry, the base name for a
 * path or buffer named by the caller, all of "-" for stdin. */
static size_t key_off_of(const struct input *in)
{
    if (in->kind == IN_STDIN) return 0;
    return in->depth ? in->key_off : base_off(in->path);
}

static mh_status new_file(mh_reader *r, const char *name, size_t key_off)
{
    if (r->nfiles >= UINT32_MAX) return MH_ELIMIT;
    if (MH_GROW(r->files, r->files_cap, r->nfiles + 1, 16, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    char *p = mh_strdup(name);
    if (!p) return MH_ENOMEM;
    if (key_off > strlen(p)) key_off = 0;
    r->files[r->nfiles] = (struct file_info){p, key_off, MH_FMT_UNKNOWN};
    r->cur = (uint32_t)r->nfiles++;
    r->stats.files++;
    return MH_OK;
}

/* Push a directory's entries on the walk stack (reversed: first on top). */
static mh_status expand_dir(mh_reader *r, const struct input *dir, mh_error *e)
{
    char **list = NULL;
    size_t n = 0;
    uint64_t pending = r->visited + r->nwalk; /* reached or queued: bounded together */
    uint64_t left = MH_MAX_INPUT_FILES > pending ? MH_MAX_INPUT_FILES - pending : 0;
    mh_status st = mh_source_list_dir(dir->path, (size_t)left, &list, &n, e);
    if (st != MH_OK) return st;
    if (r->nwalk + n > r->walk_cap) {
        size_t nc = r->walk_cap ? r->walk_cap : 16;
        while (nc < r->nwalk + n) nc *= 2;
        struct input *nw = mh_realloc(r->walk, nc * sizeof *nw);
        if (!nw) {
            mh_source_free_list(list, n);
            return MH_ENOMEM;
        }
        r->walk = nw;
        r->walk_cap = nc;
    }
    for (size_t i = n; i-- > 0;) {
        /* the key of an entry of the caller's folder starts at the entry's
           own name ("logs/" + "ual"); deeper entries keep their parent's */
        size_t key = dir->depth ? dir->key_off : base_off(list[i]);
        r->walk[r->nwalk++] = (struct input){IN_PATH, list[i], NULL, 0, dir->depth + 1, key};
        list[i] = NULL;
    }
    mh_free(list);
    return MH_OK;
}

static mh_status open_source(mh_reader *r, const struct input *in, mh_error *e)
{
    if (in->kind == IN_MEMORY) {
        mh_source_open_memory(&r->src, in->mem, in->mem_len);
        return MH_OK;
    }
    if (in->kind == IN_STDIN) {
        mh_source_open_fd(&r->src, 0);
        return MH_OK;
    }
    return mh_source_open_file(&r->src, in->path, e);
}

/* Size the stage buffers for the open file (they are reused across files and
 * only grow: a directory of small files does not allocate per file). */
static mh_status ensure_buffers(mh_reader *r)
{
    uint64_t size = 0;
    r->io = r->chunk;
    if (mh_source_size(&r->src, &size) && size < r->io) {
        r->io = size < 64 ? 64 : (size_t)size; /* one read takes the whole file */
        if (r->io > r->chunk) r->io = r->chunk;
    }
    size_t raw_cap = r->io < 64 ? 64 : r->io;
    size_t mid_cap = r->io < MH_DETECT_PREFIX_BYTES ? MH_DETECT_PREFIX_BYTES : r->io;
    if (r->raw_cap < raw_cap) {
        mh_free(r->raw);
        r->raw_cap = 0;
        r->raw = mh_malloc(raw_cap);
        if (!r->raw) return MH_ENOMEM;
        r->raw_cap = raw_cap;
    }
    if (r->mid_cap < mid_cap) {
        mh_free(r->mid);
        r->mid_cap = 0;
        r->mid = mh_malloc(mid_cap);
        if (!r->mid) return MH_ENOMEM;
        r->mid_cap = mid_cap;
    }
    r->win_max = r->max_record + 2 * r->chunk + 64;
    return MH_OK;
}

static void close_file(mh_reader *r)
{
    if (!r->open) return;
    mh_source_close(&r->src);
    mh_decomp_free(r->dec);
    r->dec = NULL;
    if (r->csv_ready) mh_csv_fini(&r->csv);
    r->csv_ready = false;
    if (r->have_map) mh_csv_map_fini(&r->map);
    r->have_map = false;
    r->open = false;
}

/* ------------------------------------------------------------ the stages */

static mh_status read_raw(mh_reader *r)
{
    if (r->raw_pos == r->raw_len)
        r->raw_pos = r->raw_len = 0;
    else if (r->raw_cap - r->raw_len < r->io && r->raw_pos > 0) {
        memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
        r->raw_len -= r->raw_pos;
        r->raw_pos = 0;
    }
    size_t want = r->raw_cap - r->raw_len;
    if (want > r->io) want = r->io;
    if (want == 0) return MH_OK;
    size_t n = 0;
    mh_error e;
    mh_error_clear(&e);
    mh_status st = mh_source_read(&r->src, r->raw + r->raw_len, want, &n, &e);
    r->raw_len += n;
    r->stats.bytes_in += n;
    if (st == MH_EOF)
        r->src_eof = true;
    else if (st != MH_OK) {
        set_fatal(r, st, &e);
        r->src_eof = true;
    }
    return MH_OK;
}

/* Decompressed bytes into dst (<= cap). *n == 0 means the stream ended. */
static mh_status produce_mid(mh_reader *r, unsigned char *dst, size_t cap, size_t *n)
{
    *n = 0;
    if (r->mid_eof) return MH_OK;
    if (r->comp == MH_COMP_NONE) {
        if (r->raw_pos < r->raw_len) {
            size_t k = r->raw_len - r->raw_pos;
            if (k > cap) k = cap;
            memcpy(dst, r->raw + r->raw_pos, k);
            r->raw_pos += k;
            *n = k;
            return MH_OK;
        }
        while (!r->src_eof) {
            size_t k = 0;
            mh_error e;
            mh_error_clear(&e);
            mh_status st = mh_source_read(&r->src, dst, cap, &k, &e);
            r->stats.bytes_in += k;
            if (st == MH_EOF)
                r->src_eof = true;
            else if (st != MH_OK) {
                set_fatal(r, st, &e);
                r->src_eof = true;
            }
            if (k) {
                *n = k;
                return MH_OK;
            }
        }
        r->mid_eof = true;
        return MH_OK;
    }
    for (;;) {
        if (r->raw_pos == r->raw_len && !r->src_eof) MH_TRY(read_raw(r));
        size_t in_len = r->raw_len - r->raw_pos, used = 0, made = 0;
        mh_error e;
        mh_error_clear(&e);
        mh_status st =
            mh_decomp_step(r->dec, r->raw + r->raw_pos, in_len, &used, dst, cap, &made, &e);
        r->raw_pos += used;
        if (st == MH_ENOMEM) return st;
        if (st != MH_OK) {
            set_fatal(r, st, &e);
            r->mid_eof = true;
            *n = made;
            return MH_OK;
        }
        if (made) {
            *n = made;
            return MH_OK;
        }
        if (used) continue;
        if (!r->src_eof) {
            MH_TRY(read_raw(r));
            continue;
        }
        /* Input exhausted and nothing more comes out. */
        st = mh_decomp_finish(r->dec, &e);
        if (st != MH_OK) set_fatal(r, st, &e);
        r->mid_eof = true;
        return MH_OK;
    }
}

/* Decoded UTF-8 into dst (<= cap, cap >= 4). *n == 0 means the text ended. */
static mh_status produce_text(mh_reader *r, char *dst, size_t cap, size_t *n)
{
    *n = 0;
    if (r->text_eof) return MH_OK;
    if (r->enc == MH_ENC_UTF8) {
        if (r->mid_pos < r->mid_len) {
            size_t k = r->mid_len - r->mid_pos;
            if (k > cap) k = cap;
            memcpy(dst, r->mid + r->mid_pos, k);
            r->mid_pos += k;
            *n = k;
            return MH_OK;
        }
        MH_TRY(produce_mid(r, (unsigned char *)dst, cap, n));
        if (*n == 0) r->text_eof = true;
        return MH_OK;
    }
    for (;;) {
        if (r->mid_pos == r->mid_len && !r->mid_eof) {
            r->mid_pos = r->mid_len = 0;
            size_t k = 0;
            MH_TRY(produce_mid(r, r->mid, r->io < r->mid_cap ? r->io : r->mid_cap, &k));
            r->mid_len = k;
        }
        size_t in_len = r->mid_len - r->mid_pos, used = 0, made = 0;
        mh_error e;
        mh_error_clear(&e);
        mh_status st =
            mh_text_step(&r->text, r->mid + r->mid_pos, in_len, &used, dst, cap, &made, &e);
        r->mid_pos += used;
        if (st != MH_OK) {
            set_fatal(r, st, &e);
            r->text_eof = true;
            *n = made;
            return MH_OK;
        }
        if (made) {
            *n = made;
            return MH_OK;
        }
        if (used) continue;
        if (r->mid_eof && r->mid_pos == r->mid_len) {
            st = mh_text_finish(&r->text, &e);
            if (st != MH_OK) set_fatal(r, st, &e);
            r->text_eof = true;
            return MH_OK;
        }
    }
}

/* Open the next input and run compression and encoding detection. Returns
 * MH_EOF when no input is left; MH_OK with r->open (or a reported failure). */
static mh_status open_next(mh_reader *r)
{
    struct input in;
    bool from_walk;
    if (r->nwalk) {
        in = r->walk[--r->nwalk];
        from_walk = true;
    } else if (r->next_input < r->ninputs) {
        in = r->inputs[r->next_input++];
        in.path = mh_strdup(in.path);
        if (!in.path) {
            r->next_input--;
            return MH_ENOMEM;
        }
        from_walk = false;
    } else {
        return MH_EOF;
    }
    mh_status st = MH_OK;
    mh_error e;
    mh_error_clear(&e);
    r->visited++;

    if (in.kind == IN_PATH) {
        enum mh_path_kind kind = MH_PATH_FILE;
        if (mh_source_path_kind(in.path, &kind, &e) != MH_OK) {
            MH_CHECK(new_file(r, in.path, key_off_of(&in)));
            report_fatal(r, in.path, &e);
            goto out;
        }
        if (kind == MH_PATH_DIR) {
            if (in.depth >= MH_MAX_PATH_DEPTH) {
                MH_CHECK(new_file(r, in.path, key_off_of(&in)));
                mh_error_set(&e, MH_ELIMIT, "directory nesting too deep", "more than %d levels",
                             MH_MAX_PATH_DEPTH);
                report_fatal(r, in.path, &e);
                goto out;
            }
            st = expand_dir(r, &in, &e);
            if (st == MH_ENOMEM) goto out;
            if (st != MH_OK) {
                st = MH_OK;
                MH_CHECK(new_file(r, in.path, key_off_of(&in)));
                report_fatal(r, in.path, &e);
            }
            goto out;
        }
        if (kind == MH_PATH_OTHER && from_walk) {
            MH_CHECK(new_file(r, in.path, key_off_of(&in)));
            mh_error_set(&e, MH_EUNSUPPORTED, "not a regular file", NULL);
            report_fatal(r, in.path, &e);
            goto out;
        }
    }
    MH_CHECK(new_file(r, in.kind == IN_STDIN ? "-" : in.path, key_off_of(&in)));
    r->cur_walked = from_walk;
    if (open_source(r, &in, &e) != MH_OK) {
        report_fatal(r, r->files[r->cur].name, &e);
        goto out;
    }
    st = ensure_buffers(r);
    if (st != MH_OK) {
        mh_source_close(&r->src);
        goto out;
    }
    r->open = true;
    r->src_eof = r->mid_eof = r->text_eof = r->fatal = false;
    mh_error_clear(&r->fatal_err);
    r->raw_pos = r->raw_len = r->mid_pos = r->mid_len = 0;
    r->scan = SCAN_NONE;
    r->det_pos = 0;
    r->type_line_checked = false;

    /* Compression, from the first bytes. */
    while (r->raw_len < MH_DETECT_MAGIC_BYTES && !r->src_eof) MH_CHECK(read_raw(r));
    r->comp = mh_detect_compression(r->raw, r->raw_len);
    const char *unsupported = mh_detect_unsupported(r->raw, r->raw_len);
    if (unsupported) {
        mh_error_set(&e, MH_EUNSUPPORTED, "unsupported archive or compression",
                     "%s: extract it first", unsupported);
        fail_file(r, &e);
        goto out;
    }
    if (r->comp != MH_COMP_NONE) MH_CHECK(mh_decomp_new(r->comp, &r->dec));

    /* Encoding, from the first decompressed bytes. */
    size_t bom = 0;
    for (;;) {
        if (mh_detect_encoding(r->mid, r->mid_len, r->mid_eof, &r->enc, &bom)) break;
        size_t want = r->mid_cap - r->mid_len, k = 0;
        if (want > r->io) want = r->io;
        MH_CHECK(produce_mid(r, r->mid + r->mid_len, want, &k));
        r->mid_len += k;
    }
    r->mid_pos = bom;
    if (r->enc != MH_ENC_UTF8) mh_text_init(&r->text, r->enc, bom);
    r->win_base = r->enc == MH_ENC_UTF8 ? bom : 0;
    r->win_len = 0;
out:
    mh_free(in.path);
    return st;
}

/* Drop window bytes before `keep` and make room for one more chunk. */
static mh_status window_room(mh_reader *r, uint64_t keep, size_t want)
{
    size_t drop = (size_t)(keep - r->win_base);
    if (drop > r->win_len) drop = r->win_len;
    if (drop && (r->win_cap - r->win_len < want || drop == r->win_len)) {
        memmove(r->win, r->win + drop, r->win_len - drop);
        r->win_len -= drop;
        r->win_base += drop;
    }
    if (r->win_cap - r->win_len >= want) return MH_OK;
    size_t need = r->win_len + want;
    size_t nc = r->win_cap ? r->win_cap : 2 * want + 64;
    while (nc < need) nc *= 2;
    if (nc > r->win_max && need <= r->win_max) nc = r->win_max;
    char *nw = mh_realloc(r->win, nc);
    if (!nw) return MH_ENOMEM;
    r->win = nw;
    r->win_cap = nc;
    return MH_OK;
}

/* ------------------------------------------------------------ records */

static bool batch_full(const mh_reader *r, const struct mh_batch *b)
{
    return b->n >= r->batch_records || b->mem.len >= r->batch_bytes;
}

static void count_record(mh_reader *r, struct mh_record *rec)
{
    r->stats.records_read++;
    r->stats.by_format[rec->format]++;
    if (r->files[r->cur].format == MH_FMT_UNKNOWN) r->files[r->cur].format = rec->format;
}

static mh_status add_json(mh_reader *r, struct mh_batch *b, const struct mh_split_item *it)
{
    MH_TRY(batch_reserve(b, r->batch_records));
    struct batch_priv *bp = b->priv;
    size_t off = b->mem.len;
    MH_TRY(mh_buf_append(&b->mem, r->win + (it->start - r->win_base), (size_t)it->len));
    struct mh_record *rec = &b->recs[b->n];
    memset(rec, 0, sizeof *rec);
    rec->json_len = rec->raw_len = (uint32_t)it->len;
    rec->file = r->cur;
    rec->format = (uint16_t)it->format;
    rec->number = it->number;
    rec->line = it->line;
    rec->offset = it->start;
    bp->json_off[b->n] = bp->raw_off[b->n] = off;
    b->n++;
    count_record(r, rec);
    return MH_OK;
}

static mh_status add_csv(mh_reader *r, struct mh_batch *b, const struct mh_split_item *it)
{
    MH_TRY(batch_reserve(b, r->batch_records));
    struct batch_priv *bp = b->priv;
    size_t off = b->mem.len;
    mh_status st =
        mh_csv_map_row(&r->map, r->win, r->win_base, r->csv.fields, r->csv.nfields, &b->mem);
    if (st == MH_OK && b->mem.len - off > r->max_record) st = MH_ELIMIT;
    if (st != MH_OK) {
        b->mem.len = off;
        if (b->mem.data) b->mem.data[off] = '\0';
        if (st == MH_ENOMEM) return st;
        struct mh_split_item bad = *it;
        bad.code = MH_ELIMIT;
        bad.reason = "record too large";
        snprintf(bad.detail, sizeof bad.detail, "as JSON, limit %llu bytes",
                 (unsigned long long)r->max_record);
        report_item(r, &bad);
        return MH_OK;
    }
    size_t json_len = b->mem.len - off;
    MH_TRY(mh_buf_append(&b->mem, r->win + (it->start - r->win_base), (size_t)it->len));
    struct mh_record *rec = &b->recs[b->n];
    memset(rec, 0, sizeof *rec);
    rec->json_len = (uint32_t)json_len;
    rec->raw_len = (uint32_t)it->len;
    rec->file = r->cur;
    rec->format = (uint16_t)r->map.format;
    rec->number = it->number;
    rec->line = it->line;
    rec->offset = it->start;
    bp->json_off[b->n] = off;
    bp->raw_off[b->n] = off + json_len;
    b->n++;
    count_record(r, rec);
    return MH_OK;
}

/* Header handling: the first row (after an optional PowerShell "#TYPE" line). */
static mh_status csv_header(mh_reader *r, const struct mh_split_item *it, bool *fatal)
{
    *fatal = false;
    const char *row = r->win + (it->start - r->win_base);
    if (!r->type_line_checked) {
        /* PowerShell's "#TYPE ..." line and Excel's "sep=," line precede the header. */
        r->type_line_checked = true;
        if ((it->len >= 5 && memcmp(row, "#TYPE", 5) == 0) ||
            (it->len == 5 && memcmp(row, "sep=,", 5) == 0))
            return MH_OK;
    }
    if (it->len > MH_MAX_CSV_HEADER_BYTES) {
        *fatal = true;
        return MH_OK;
    }
    MH_TRY(mh_csv_map_init(&r->map, r->win, r->win_base, r->csv.fields, r->csv.nfields));
    r->have_map = true;
    if (r->map.format == MH_FMT_UNKNOWN) {
        *fatal = true;
        return MH_OK;
    }
    r->files[r->cur].format = r->map.format;
    r->csv.row_no = 0;
    return MH_OK;
}

/* First non-space byte of the text: JSON or CSV. */
static mh_status decide_container(mh_reader *r, bool *decided)
{
    *decided = false;
    while (r->det_pos < r->win_len) {
        unsigned char c = (unsigned char)r->win[r->det_pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            r->det_pos++;
            if (r->det_pos > (1u << 16)) break; /* blank beyond reason: see below */
            continue;
        }
        if (c == '{' || c == '[') {
            r->scan = SCAN_JSON;
            mh_split_init(&r->split, r->win_base, r->max_record);
        } else {
            r->scan = SCAN_CSV;
            MH_TRY(mh_csv_init(&r->csv, r->win_base, r->max_record));
            r->csv_ready = true;
        }
        *decided = true;
        return MH_OK;
    }
    if (r->text_eof || r->det_pos > (1u << 16)) {
        /* Empty (or blank) so far beyond reason: let the JSON splitter, which
         * drops blanks as it goes, take it from here. */
        r->scan = SCAN_JSON;
        mh_split_init(&r->split, r->win_base, r->max_record);
        *decided = true;
    }
    return MH_OK;
}

static void fail_file(mh_reader *r, mh_error *e)
{
    report_fatal(r, r->files[r->cur].name, e);
    close_file(r);
}

static const char not_a_log_msg[] = "not a log file";

bool mh_reader_not_a_log(const mh_error *err)
{
    return err && err->msg == not_a_log_msg;
}

/*
 * The text is neither JSON nor a CSV with a header row. Named by the caller,
 * that is a failed file; met inside a folder (a README, a picture, a note
 * next to the exports) it is not a log: one report, counted, skipped.
 */
static void unrecognised(mh_reader *r, const char *detail)
{
    mh_error e;
    mh_error_clear(&e);
    if (!r->cur_walked) {
        mh_error_set(&e, MH_EUNSUPPORTED, "unrecognised format", "%s", detail);
        fail_file(r, &e);
        return;
    }
    mh_error_set(&e, MH_EUNSUPPORTED, not_a_log_msg, "%s", detail);
    mh_error_at(&e, r->files[r->cur].name, 0, 0, 0, 0);
    r->stats.files_not_logs++;
    if (r->opts.on_bad) r->opts.on_bad(r->opts.ctx, &e, false);
    close_file(r);
}

/* Refill the window; at end of text with a pending fault, report it. */
static mh_status refill(mh_reader *r, uint64_t keep, bool *closed)
{
    *closed = false;
    size_t want = r->io < 16 ? 16 : r->io;
    MH_TRY(window_room(r, keep, want));
    size_t n = 0;
    size_t cap = r->win_cap - r->win_len;
    if (cap > r->io && r->io >= 4) cap = r->io;
    MH_TRY(produce_text(r, r->win + r->win_len, cap, &n));
    r->win_len += n;
    r->stats.bytes += n;
    if (n == 0 && r->fatal) {
        fail_file(r, &r->fatal_err);
        *closed = true;
    }
    return MH_OK;
}

/* Work on the open file until the batch is full or the file is done. */
static mh_status pump(mh_reader *r, struct mh_batch *b)
{
    struct mh_split_item it;
    bool closed = false;
    while (r->open && !batch_full(r, b)) {
        if (r->scan == SCAN_NONE) {
            bool decided = false;
            MH_TRY(decide_container(r, &decided));
            if (!decided) {
                MH_TRY(refill(r, r->win_base, &closed));
                continue;
            }
        }
        bool eof = r->text_eof && !r->fatal;
        if (r->scan == SCAN_JSON) {
            enum mh_split_ev ev =
                mh_split_next(&r->split, r->win, r->win_base, r->win_len, eof, &it);
            if (ev == MH_SPLIT_RECORD)
                MH_TRY(add_json(r, b, &it));
            else if (ev == MH_SPLIT_BAD)
                report_item(r, &it);
            else if (ev == MH_SPLIT_END) {
                if (r->files[r->cur].format == MH_FMT_UNKNOWN)
                    r->files[r->cur].format = r->split.file_fmt;
                close_file(r);
            } else
                MH_TRY(refill(r, mh_split_keep(&r->split), &closed));
            continue;
        }
        enum mh_csv_ev ev = mh_csv_next(&r->csv, r->win, r->win_base, r->win_len, eof, &it);
        if (ev == MH_CSV_ROW) {
            if (!r->have_map) {
                bool fatal = false;
                MH_TRY(csv_header(r, &it, &fatal));
                if (fatal) unrecognised(r, "neither JSON nor a CSV with a header row");
            } else if (r->csv.nfields != r->map.ncols) {
                struct mh_split_item bad = it;
                bad.code = MH_EPARSE;
                bad.reason = "wrong number of fields";
                snprintf(bad.detail, sizeof bad.detail, "%zu fields, header has %zu",
                         r->csv.nfields, r->map.ncols);
                report_item(r, &bad);
            } else {
                MH_TRY(add_csv(r, b, &it));
            }
        } else if (ev == MH_CSV_BAD) {
            if (!r->have_map) {
                char d[200];
                snprintf(d, sizeof d, "bad CSV header row: %s", it.reason);
                unrecognised(r, d);
            } else {
                report_item(r, &it);
            }
        } else if (ev == MH_CSV_END) {
            close_file(r);
        } else {
            MH_TRY(refill(r, mh_csv_keep(&r->csv), &closed));
        }
    }
    return MH_OK;
}

mh_status mh_reader_fill(mh_reader *r, struct mh_batch *b)
{
    mh_status st = MH_OK;
    b->n = 0;
    mh_buf_clear(&b->mem);
    if (b->mem.max < r->batch_bytes + 2 * r->max_record + 64)
        b->mem.max = r->batch_bytes + 2 * r->max_record + 64;
    while (!batch_full(r, b)) {
        if (!r->open) {
            st = open_next(r);
            if (st == MH_EOF) {
                st = MH_OK;
                break;
            }
            MH_CHECK(st);
            continue;
        }
        MH_CHECK(pump(r, b));
    }
out:
    if (b->n) {
        struct batch_priv *bp = b->priv;
        for (size_t i = 0; i < b->n; i++) {
            b->recs[i].json = b->mem.data + bp->json_off[i];
            b->recs[i].raw = b->mem.data + bp->raw_off[i];
        }
    }
    if (st != MH_OK) return st;
    return b->n ? MH_OK : MH_EOF;
}
