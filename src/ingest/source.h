/*
 * ingest/source.h -- raw byte sources: files, stdin, memory; directory listing
 *
 * Pipeline: [ingest: source] -> decompress -> text -> split/csv -> normalize.
 * A source hands out the bytes of one input in caller-sized reads (the
 * reader uses MH_READ_CHUNK_BYTES); nothing is ever loaded whole.
 * Directory walking is done by reader.c with mh_source_list_dir, which
 * returns one directory's entries sorted byte-wise (strcmp), so a walk is
 * deterministic whatever the file system's order.
 *
 * Ownership: a memory source borrows its buffer (the caller keeps it alive
 * until the reader is done with it). A file source owns its descriptor;
 * stdin is read but never closed. Thread-safety: one source per thread.
 */
#ifndef MH_INGEST_SOURCE_H
#define MH_INGEST_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

struct mh_source {
    int fd;                   /* -1 for memory sources */
    bool own_fd;              /* close on mh_source_close */
    const unsigned char *mem; /* memory source (borrowed) */
    size_t mem_len, mem_pos;
    uint64_t bytes; /* bytes handed out so far */
};

enum mh_path_kind { MH_PATH_FILE, MH_PATH_DIR, MH_PATH_OTHER };

/* Open a path for reading. MH_EIO (errno captured in err) when it cannot be opened. */
MH_MUST_CHECK mh_status mh_source_open_file(struct mh_source *s, const char *path, mh_error *err);
/* Read from an inherited descriptor (stdin); it is not closed afterwards. */
void mh_source_open_fd(struct mh_source *s, int fd);
/* Read from memory (borrowed). */
void mh_source_open_memory(struct mh_source *s, const void *p, size_t n);
/*
 * Read up to cap bytes into buf. MH_OK with *n >= 1; MH_EOF with *n == 0 at
 * the end; MH_EIO on a read error (errno in err). EINTR is retried.
 */
MH_MUST_CHECK mh_status mh_source_read(struct mh_source *s, void *buf, size_t cap, size_t *n,
                                       mh_error *err);
void mh_source_close(struct mh_source *s);
/* Size of the input when known (regular file, memory): true and *size. */
bool mh_source_size(const struct mh_source *s, uint64_t *size);

/* What a path is (following symlinks). MH_EIO when it cannot be stat'ed. */
MH_MUST_CHECK mh_status mh_source_path_kind(const char *path, enum mh_path_kind *kind,
                                            mh_error *err);

/*
 * The entries of directory `path` ("." and ".." excluded) as full paths
 * "path/name", sorted byte-wise. At most max entries (MH_ELIMIT beyond).
 * *out is an array of *n heap strings; free with mh_source_free_list.
 */
MH_MUST_CHECK mh_status mh_source_list_dir(const char *path, size_t max, char ***out, size_t *n,
                                           mh_error *err);
void mh_source_free_list(char **list, size_t n);

#endif
