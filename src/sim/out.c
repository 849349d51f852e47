/*
 * sim/out.c -- output files: containers, record numbering, Purview twins
 *
 * Pipeline: sim. Owns every log file the simulator writes under DIR:
 *   logs/ual/<tenant>-<date>.jsonl            JSON Lines of UAL AuditData
 *   logs/signin/<tenant>-<date>-<stream>.json Azure Monitor {"records":[..]}
 *   logs/audit/<tenant>-<date>.json           Graph directoryAudit page {"value":[..]}
 *   logs/ual-purview.csv                      Purview 8-column export, primary tenant,
 *                                             every activity but MailItemsAccessed
 *   logs/trace.csv                            message trace (trace.c), UTF-16LE
 * Day files are opened by sim_out_day_begin for every tenant (an empty day
 * still gives a valid, empty container) and closed by sim_out_day_end.
 *
 * Record protocol: sim_rec_begin(tenant, kind) writes the container's
 * separator and returns the file's buffer; the caller appends one JSON
 * object; sim_rec_end counts the record (the number the reader gives it:
 * line of a JSON Lines file, element of a records/value array, data row of a
 * CSV), references it in the truth when an attack step is tagged, and for
 * UAL records of the primary tenant appends the same AuditData as a Purview
 * row (so truth references name both the .jsonl line and the CSV row). The
 * export leaves MailItemsAccessed out: responders pull that activity
 * separately because of its volume, and it would double the largest log.
 *
 * Purview row: RecordId,CreationDate,RecordType,Operation,UserId,AuditData,
 * AssociatedAdminUnits,AssociatedAdminUnitsNames with CreationDate in the
 * ISO form with 7 fraction digits and the trailing space real exports carry
 * ("2024-03-04T09:12:33.0000000Z "), AuditData quoted with "" doubling,
 * CRLF line ends.
 *
 * Memory: one MH_SIM_FILE_BUF buffer per open file, flushed when full.
 * Errors: MH_EIO with errno and the file name in mh_error.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "sim/model.h"

static const char *const si_names[4] = {"signinlogs", "noninteractiveusersigninlogs",
                                        "serviceprincipalsigninlogs", "managedidentitysigninlogs"};

static mh_status io_error(struct sim *S, const char *what, const char *rel)
{
    int e = errno;
    mh_status st =
        mh_error_set(S->err, MH_EIO, "cannot write output", "%s %s/%s", what, S->dir, rel);
    if (S->err) S->err->sys_errno = e;
    return st;
}

mh_status sim_out_write_fd(struct sim *S, int fd, const char *rel, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return io_error(S, "write", rel);
        }
        c += w;
        n -= (size_t)w;
    }
    return MH_OK;
}

static mh_status flush(struct sim *S, struct sim_file *f)
{
    if (f->buf.st) return mh_error_set(S->err, f->buf.st, "output buffer", "%s", f->rel);
    mh_status st = sim_out_write_fd(S, f->fd, f->rel, f->buf.b.data, f->buf.b.len);
    if (!st) S->bytes_out += f->buf.b.len;
    mh_buf_clear(&f->buf.b);
    return st;
}

mh_status sim_out_mkdirs(struct sim *S, const char *rel)
{
    char path[512];
    size_t n = strlen(rel);
    if (n >= sizeof path) return mh_error_set(S->err, MH_EINVAL, "path too long", "%s", rel);
    memcpy(path, rel, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdirat(S->files_dirfd, path, 0777) != 0 && errno != EEXIST)
            return io_error(S, "mkdir", path);
        path[i] = c;
    }
    return MH_OK;
}

/* Register and open a file; *id receives its index. */
static mh_status open_file(struct sim *S, const char *rel, int container, uint32_t *id)
{
    MH_TRY(MH_GROW(S->files, S->files_cap, (size_t)S->nfiles + 1, 64, SIZE_MAX));
    struct sim_file *f = &S->files[S->nfiles];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->rel = mh_arena_strndup(&S->arena, rel, strlen(rel));
    if (!f->rel) return MH_ENOMEM;
    sim_tx_init(&f->buf, (size_t)MH_SIM_FILE_BUF * 64);
    f->container = (uint8_t)container;
    f->fd = openat(S->files_dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f->fd < 0) return io_error(S, "open", rel);
    f->open = 1;
    *id = S->nfiles++;
    switch (container) {
    case C_RECORDS:
        SIM_LIT(&f->buf, "{\"records\":[");
        break;
    case C_GRAPH:
        SIM_LIT(&f->buf, "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/"
                         "$metadata#auditLogs/directoryAudits\",\"value\":[");
        break;
    default:
        break;
    }
    return MH_OK;
}

static mh_status close_file(struct sim *S, uint32_t id)
{
    struct sim_file *f = &S->files[id];
    if (!f->open) return MH_OK;
    if (f->container == C_RECORDS || f->container == C_GRAPH) {
        if (f->nrec)
            SIM_LIT(&f->buf, "\n]}\n");
        else
            SIM_LIT(&f->buf, "]}\n");
    }
    mh_status st = flush(S, f);
    if (close(f->fd) != 0 && st == MH_OK) st = io_error(S, "close", f->rel);
    f->fd = -1;
    f->open = 0;
    sim_tx_fini(&f->buf);
    return st;
}

mh_status sim_out_init(struct sim *S)
{
    mh_status st = MH_OK;
    sim_tx_init(&S->scratch, MH_MAX_RECORD_BYTES);
    memset(S->dayfile, 0xff, sizeof S->dayfile);
    MH_CHECK(sim_out_mkdirs(S, "logs/ual"));
    MH_CHECK(sim_out_mkdirs(S, "logs/signin"));
    MH_CHECK(sim_out_mkdirs(S, "logs/audit"));
    MH_CHECK(sim_out_mkdirs(S, "mail"));
    MH_CHECK(open_file(S, "logs/ual-purview.csv", C_CSV, &S->purview));
    SIM_LIT(&S->files[S->purview].buf, "RecordId,CreationDate,RecordType,Operation,UserId,"
                                       "AuditData,AssociatedAdminUnits,"
                                       "AssociatedAdminUnitsNames\r\n");
    MH_CHECK(open_file(S, "logs/trace.csv", C_CSV16, &S->trace));
    MH_CHECK(sim_trace_open(S));
out:
    return st;
}

void sim_out_fini(struct sim *S)
{
    for (uint32_t i = 0; i < S->nfiles; i++) {
        if (S->files[i].fd >= 0) close(S->files[i].fd);
        sim_tx_fini(&S->files[i].buf);
    }
    mh_free(S->files);
    S->files = NULL;
    S->nfiles = S->files_cap = 0;
    sim_tx_fini(&S->scratch);
}

static void date_str(mh_time t, char out[11])
{
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    out[0] = (char)('0' + c.year / 1000 % 10);
    out[1] = (char)('0' + c.year / 100 % 10);
    out[2] = (char)('0' + c.year / 10 % 10);
    out[3] = (char)('0' + c.year % 10);
    out[4] = '-';
    out[5] = (char)('0' + c.month / 10);
    out[6] = (char)('0' + c.month % 10);
    out[7] = '-';
    out[8] = (char)('0' + c.day / 10);
    out[9] = (char)('0' + c.day % 10);
    out[10] = '\0';
}

mh_status sim_out_day_begin(struct sim *S, uint32_t day)
{
    mh_status st = MH_OK;
    char date[11], rel[256];
    date_str(S->start + (mh_time)day * SIM_DAY, date);
    for (uint32_t t = 0; t < S->ntenants; t++) {
        const char *lb = S->tenants[t].label;
        snprintf(rel, sizeof rel, "logs/ual/%s-%s.jsonl", lb, date);
        MH_CHECK(open_file(S, rel, C_JSONL, &S->dayfile[t][FK_UAL]));
        for (int k = 0; k < 4; k++) {
            snprintf(rel, sizeof rel, "logs/signin/%s-%s-%s.json", lb, date, si_names[k]);
            MH_CHECK(open_file(S, rel, C_RECORDS, &S->dayfile[t][FK_SI_INT + k]));
        }
        snprintf(rel, sizeof rel, "logs/audit/%s-%s.json", lb, date);
        MH_CHECK(open_file(S, rel, C_GRAPH, &S->dayfile[t][FK_AUDIT]));
    }
out:
    return st;
}

mh_status sim_out_day_end(struct sim *S)
{
    mh_status st = MH_OK;
    for (uint32_t t = 0; t < S->ntenants; t++)
        for (int k = 0; k < FK__DAY; k++) {
            if (S->dayfile[t][k] == SIM_NONE) continue;
            MH_CHECK(close_file(S, S->dayfile[t][k]));
            S->dayfile[t][k] = SIM_NONE;
        }
    /* keep the long-lived files' buffers small between days */
    MH_CHECK(flush(S, &S->files[S->purview]));
    MH_CHECK(flush(S, &S->files[S->trace]));
out:
    return st;
}

mh_status sim_out_close_all(struct sim *S)
{
    mh_status st = MH_OK;
    for (uint32_t i = 0; i < S->nfiles; i++) MH_CHECK(close_file(S, i));
out:
    return st;
}

struct sim_tx *sim_rec_begin(struct sim *S, uint32_t tenant, int kind)
{
    uint32_t id = S->dayfile[tenant][kind];
    struct sim_file *f = &S->files[id];
    if (f->container == C_RECORDS || f->container == C_GRAPH) {
        if (f->nrec)
            SIM_LIT(&f->buf, ",\n");
        else
            sim_tx_c(&f->buf, '\n');
    }
    S->cur_file = id;
    S->cur_kind = kind;
    S->cur_tenant = tenant;
    S->cur_start = f->buf.b.len;
    S->ual.id = NULL;
    return &f->buf;
}

/* A CSV cell: quoted when it holds a comma, quote, CR or LF. */
static void csv_cell(struct sim_tx *t, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n")) {
        sim_tx_c(t, '"');
        sim_tx_csvq(t, s, n);
        sim_tx_c(t, '"');
    } else {
        sim_tx_put(t, s, n);
    }
}

static mh_status purview_row(struct sim *S, const char *json, size_t n)
{
    struct sim_file *pv = &S->files[S->purview];
    struct sim_tx *t = &pv->buf;
    const struct sim_ualmeta *m = &S->ual;
    sim_tx_guid(t, m->id);
    sim_tx_c(t, ',');
    sim_tx_time_ual(t, m->t);
    SIM_LIT(t, ".0000000Z ,");
    sim_tx_u64(t, (uint64_t)m->rtype);
    sim_tx_c(t, ',');
    csv_cell(t, m->op);
    sim_tx_c(t, ',');
    csv_cell(t, m->user ? m->user : "");
    SIM_LIT(t, ",\"");
    sim_tx_csvq(t, json, n);
    SIM_LIT(t, "\",,\r\n");
    pv->nrec++;
    if (S->tag_scen >= 0) MH_TRY(sim_truth_ref(S, S->purview, pv->nrec, m->t));
    if (t->b.len >= MH_SIM_FILE_BUF) MH_TRY(flush(S, pv));
    return MH_OK;
}

mh_status sim_rec_end(struct sim *S, mh_time t)
{
    struct sim_file *f = &S->files[S->cur_file];
    f->nrec++;
    S->records_out++;
    if (S->tag_scen >= 0) MH_TRY(sim_truth_ref(S, S->cur_file, f->nrec, t));
    /* The Purview export covers every activity except MailItemsAccessed (see docs) */
    if (S->cur_kind == FK_UAL && S->cur_tenant == 0 && S->ual.id && S->ual.rtype != 50 &&
        !f->buf.st)
        MH_TRY(purview_row(S, f->buf.b.data + S->cur_start, f->buf.b.len - S->cur_start));
    if (f->container == C_JSONL) sim_tx_c(&f->buf, '\n');
    if (f->buf.b.len >= MH_SIM_FILE_BUF) MH_TRY(flush(S, f));
    return MH_OK;
}

/* UTF-8 -> UTF-16LE (surrogate pairs above U+FFFF). Input is valid UTF-8. */
static void utf16le(struct sim_tx *o, const char *s, size_t n)
{
    if (!sim_tx_room(o, 4 * n)) return;
    unsigned char *d = (unsigned char *)o->b.data + o->b.len;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        if (c < 0x80) {
            d[k++] = c;
            d[k++] = 0;
            i++;
            continue;
        } else if (c < 0xE0) {
            cp = (uint32_t)(c & 0x1F) << 6 | (s[i + 1] & 0x3F);
            i += 2;
        } else if (c < 0xF0) {
            cp = (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
            i += 3;
        } else {
            cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                 (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
            i += 4;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            uint32_t hi = 0xD800 | (cp >> 10), lo = 0xDC00 | (cp & 0x3FF);
            d[k++] = (unsigned char)hi;
            d[k++] = (unsigned char)(hi >> 8);
            d[k++] = (unsigned char)lo;
            d[k++] = (unsigned char)(lo >> 8);
        } else {
            d[k++] = (unsigned char)cp;
            d[k++] = (unsigned char)(cp >> 8);
        }
    }
    sim_tx_commit(o, k);
}

mh_status sim_out_trace_row(struct sim *S)
{
    struct sim_file *f = &S->files[S->trace];
    if (S->scratch.st) return mh_error_set(S->err, S->scratch.st, "trace row", NULL);
    utf16le(&f->buf, S->scratch.b.data, S->scratch.b.len);
    mh_buf_clear(&S->scratch.b);
    if (f->buf.b.len >= MH_SIM_FILE_BUF) MH_TRY(flush(S, f));
    return MH_OK;
}

mh_status sim_out_write_file(struct sim *S, const char *rel, const void *p, size_t n)
{
    int fd = openat(S->files_dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return io_error(S, "open", rel);
    mh_status st = sim_out_write_fd(S, fd, rel, p, n);
    if (!st) S->bytes_out += n;
    if (close(fd) != 0 && !st) st = io_error(S, "close", rel);
    return st;
}
