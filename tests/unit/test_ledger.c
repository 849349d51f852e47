/*
 * tests/unit/test_ledger.c -- notify/ledger.c: what was handed to whom
 *
 * A small notification "run" (recover DIR, publish every organisation, write
 * index.csv from the ledger) over two phases of evidence:
 *   phase 1: fabrikam.com {m1 m2 m3}, pat@gmail.com {m2 m4}, lists.example.org {m5}
 *   phase 2: fabrikam.com {m1 m2 m3 m6 m7}, pat@gmail.com {m2 m4}, newco.com {m6},
 *            lists.example.org {m5}
 * Checked: a rerun records nothing and leaves DIR byte-identical; new
 * evidence gives supplement-1 with only the new messages; no (org, message)
 * is listed twice across an organisation's packages; a deleted DIR is
 * rebuilt byte-identically from the ledger (recorded Bagging-Date kept);
 * changed message bytes are reported as drift, never silently shipped;
 * kill-and-resume: a child process is killed (_exit from the crash hook) at
 * every write-protocol point of either phase, then the run is repeated; the
 * final DIR and ledger must equal those of an uninterrupted run.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/sha256.h"
#include "mh_test.h"
#include "mh_testfs.h"
#include "notify/fs.h"
#include "notify/ledger.h"

static char tmpdir[256];

/* ---- the scenario ---- */

#define NPOOL 7
static char pool_raw[NPOOL][512];
static struct mh_pkg_message pool[NPOOL];

static mh_time T(const char *s)
{
    mh_time t = MH_TIME_NONE;
    if (mh_time_parse(s, strlen(s), &t) != MH_OK) return MH_TIME_NONE;
    return t;
}

static void make_pool(void)
{
    static char ids[NPOOL][32];
    for (int i = 0; i < NPOOL; i++) {
        fmtp(ids[i], sizeof ids[i], "m%d@contoso.com", i + 1);
        fmtp(pool_raw[i], sizeof pool_raw[i],
                 "From: alice@contoso.com\r\nTo: bob@fabrikam.com, pat@gmail.com\r\n%s"
                 "Subject: message %d\r\nMessage-ID: <%s>\r\n\r\nbody %d\r\n",
                 i % 2 ? "Bcc: hidden@fabrikam.com\r\n" : "", i + 1, ids[i], i + 1);
        char date[32];
        fmtp(date, sizeof date, "2024-01-%02dT10:00:00Z", 10 + i);
        pool[i] = (struct mh_pkg_message){
            .message_id = ids[i],
            .date = T(date),
            .subject = NULL,
            .mailbox = "alice@contoso.com",
            .addresses = "to:bob@fabrikam.com",
            .evidence = "ual/a.jsonl:1",
            .confidence = "observed",
            .secrets = i == 2 ? 1 : 0,
            .raw = pool_raw[i],
            .raw_len = strlen(pool_raw[i]),
        };
    }
}

struct org_in {
    const char *key, *kind;
    int msgs[8]; /* 1-based pool indexes, 0-terminated */
};

static const struct org_in phase1[] = {
    {"fabrikam.com", "organisation", {1, 2, 3, 0}},
    {"pat@gmail.com", "individual", {2, 4, 0}},
    {"lists.example.org", "list", {5, 0}},
};
static const struct org_in phase2[] = {
    {"fabrikam.com", "organisation", {3, 1, 7, 2, 6, 0}}, /* any order */
    {"pat@gmail.com", "individual", {4, 2, 0}},
    {"newco.com", "organisation", {6, 0}},
    {"lists.example.org", "list", {5, 0}},
};

static bool quiet_runs;   /* the allocation-failure loop expects failures */
static size_t batch_size; /* 0: mh_ledger_publish; else batches of this many packages */

struct run_stats {
    size_t created, present, rewritten, drifted, removed;
};

/* One notification run; returns the first failing status. */
static mh_status run(const char *out, const char *ledger, const struct org_in *orgs, size_t norgs,
                     mh_time bagging, struct run_stats *rs)
{
    mh_status st = MH_OK;
    mh_ledger *lg = NULL;
    mh_ledger_batch *batch = NULL;
    mh_error err;
    struct mh_pkg_index_row rows[8];
    char kinds[8][16];
    if (norgs > 8) return MH_EINVAL;
    memset(rs, 0, sizeof *rs);
    MH_CHECK(mh_pkg_recover(out, &err));
    MH_CHECK(mh_ledger_open(ledger, &lg, &err));
    if (batch_size) MH_CHECK(mh_ledger_batch_new(batch_size, &batch, &err));
    for (size_t o = 0; o < norgs; o++) {
        struct mh_pkg_message m[8];
        size_t n = 0;
        for (int k = 0; orgs[o].msgs[k]; k++) m[n++] = pool[orgs[o].msgs[k] - 1];
        struct mh_pkg_info in = {
            .org_key = orgs[o].key,
            .kind = orgs[o].kind,
            .source_org = "Contoso Ltd",
            .contact = "ir@contoso.com",
            .incident_id = "INC-7",
            .bagging_date = bagging,
            .access_first = MH_TIME_NONE,
            .access_last = MH_TIME_NONE,
        };
        struct mh_publish_result r;
        if (batch)
            MH_CHECK(mh_ledger_publish_batch(lg, batch, out, &in, m, n, &r, &err));
        else
            MH_CHECK(mh_ledger_publish(lg, out, &in, m, n, &r, &err));
        rs->created += r.created;
        rs->present += r.present;
        rs->rewritten += r.rewritten;
        rs->drifted += r.drifted;
        rs->removed += r.removed;
    }
    MH_CHECK(mh_ledger_flush(lg, batch, &err));
    for (size_t o = 0; o < norgs; o++) {
        struct mh_ledger_totals t;
        MH_CHECK(mh_ledger_org_totals(lg, orgs[o].key, &t, &err));
        fmtp(kinds[o], sizeof kinds[o], "%s", t.kind);
        rows[o] = (struct mh_pkg_index_row){orgs[o].key, kinds[o], t.messages, t.secrets};
    }
    MH_CHECK(mh_pkg_write_index(out, rows, norgs, &err));
out:
    if (st && !quiet_runs) {
        char msg[512];
        mh_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "run: %s\n", msg);
    }
    mh_ledger_batch_free(batch);
    mh_ledger_close(lg);
    return st;
}

static void state(const char *out, const char *ledger, struct mh_buf *snap)
{
    mh_ledger *lg = NULL;
    char p[600];
    mh_buf_clear(snap);
    fmtp(p, sizeof p, "%s/packages", out);
    snapshot(p, "", snap);
    if (mh_buf_puts(snap, "-- ledger --\n")) return;
    if (mh_ledger_open(ledger, &lg, NULL) == MH_OK && mh_ledger_dump(lg, snap, NULL) == MH_OK) {
    } else if (mh_buf_puts(snap, "(no ledger)\n")) {
    }
    mh_ledger_close(lg);
}

static void paths(const char *name, char *out, char *ledger)
{
    fmtp(out, 512, "%s/%s-out", tmpdir, name);
    fmtp(ledger, 512, "%s/%s.ledger", tmpdir, name);
}

static mh_time day1, day2;
static struct mh_buf ref1, ref2; /* uninterrupted state after phase 1, after phase 2 */

static int equal_bufs(const struct mh_buf *a, const struct mh_buf *b, const char *what)
{
    int same = a->len == b->len && a->len && memcmp(a->data, b->data, a->len) == 0;
    if (!same) fprintf(stderr, "%s differs:\n%s\n---- expected ----\n%s\n", what, a->data, b->data);
    return same;
}

/* Message ids listed in every messages.csv under one organisation's dir. */
static int listed_twice(const char *orgdir, int *total)
{
    char cmd[1200];
    fmtp(cmd, sizeof cmd,
             "find '%s' -name messages.csv -exec tail -n +2 {} \\; | cut -d, -f1 | sort | uniq -d | "
             "wc -l",
             orgdir);
    FILE *f = popen(cmd, "r");
    int dups = -1;
    if (f) {
        if (fscanf(f, "%d", &dups) != 1) dups = -1;
        pclose(f);
    }
    fmtp(cmd, sizeof cmd, "find '%s' -name messages.csv -exec tail -n +2 {} \\; | wc -l", orgdir);
    f = popen(cmd, "r");
    if (f) {
        if (fscanf(f, "%d", total) != 1) *total = -1;
        pclose(f);
    }
    return dups;
}

static void t_reruns(void)
{
    char out[512], lg[512], p[700];
    struct run_stats rs;
    struct mh_buf snap;
    mh_buf_init(&snap, 0);
    mh_buf_init(&ref1, 0);
    mh_buf_init(&ref2, 0);
    paths("ref", out, lg);

    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    CHECK_INT(rs.created, 3);
    state(out, lg, &ref1);
    /* rerun: nothing new, nothing changed */
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    CHECK_INT(rs.created, 0);
    CHECK_INT(rs.present, 3);
    state(out, lg, &snap);
    CHECK(equal_bufs(&snap, &ref1, "rerun"));

    /* new evidence (and a new Bagging-Date for new packages) */
    CHECK_INT(run(out, lg, phase2, 4, day2, &rs), MH_OK);
    CHECK_INT(rs.created, 2); /* fabrikam supplement-1, newco.com */
    CHECK_INT(rs.present, 3); /* fabrikam seq 0, pat, the list */
    state(out, lg, &ref2);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-1/data/messages.csv", out);
    struct mh_buf csv;
    mh_buf_init(&csv, 0);
    CHECK_INT(mh_fs_read(p, &csv, 1u << 20, NULL), MH_OK);
    CHECK(csv.data && strstr(csv.data, "m6@contoso.com") && strstr(csv.data, "m7@contoso.com") &&
          !strstr(csv.data, "m1@contoso.com") && !strstr(csv.data, "m3@contoso.com"));
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-1/bag-info.txt", out);
    CHECK_INT(mh_fs_read(p, &csv, 1u << 20, NULL), MH_OK);
    CHECK(csv.data && strstr(csv.data, "Bagging-Date: 2024-02-02") != NULL);
    int total = 0;
    fmtp(p, sizeof p, "%s/packages/fabrikam.com", out);
    CHECK_INT(listed_twice(p, &total), 0);
    CHECK_INT(total, 5);
    /* index: totals over every package of the org */
    fmtp(p, sizeof p, "%s/packages/index.csv", out);
    mh_buf_clear(&csv);
    CHECK_INT(mh_fs_read(p, &csv, 1u << 20, NULL), MH_OK);
    CHECK_STREQ(csv.data, "org,kind,messages,secrets\r\n"
                          "fabrikam.com,organisation,5,1\r\n"
                          "lists.example.org,list,1,0\r\n"
                          "newco.com,organisation,1,0\r\n"
                          "pat@gmail.com,individual,2,0\r\n");
    mh_buf_fini(&csv);

    /* ledger queries */
    mh_ledger *l = NULL;
    bool has;
    CHECK_INT(mh_ledger_open(lg, &l, NULL), MH_OK);
    CHECK_INT(mh_ledger_has(l, "fabrikam.com", "m7@contoso.com", &has, NULL), MH_OK);
    CHECK(has);
    CHECK_INT(mh_ledger_has(l, "newco.com", "m1@contoso.com", &has, NULL), MH_OK);
    CHECK(!has);
    const char *ids[3] = {"m1@contoso.com", "m5@contoso.com", "m6@contoso.com"};
    bool isnew[3];
    size_t nnew = 9;
    CHECK_INT(mh_ledger_new_items(l, "pat@gmail.com", ids, 3, isnew, &nnew, NULL), MH_OK);
    CHECK_INT(nnew, 3);
    CHECK_INT(mh_ledger_new_items(l, "fabrikam.com", ids, 3, isnew, &nnew, NULL), MH_OK);
    CHECK_INT(nnew, 1);
    CHECK(!isnew[0] && isnew[1] && !isnew[2]);
    struct mh_ledger_totals t;
    CHECK_INT(mh_ledger_org_totals(l, "fabrikam.com", &t, NULL), MH_OK);
    CHECK_INT(t.packages, 2);
    CHECK_INT(mh_ledger_org_totals(l, "unknown.org", &t, NULL), MH_OK);
    CHECK_INT(t.packages, 0);
    CHECK_STREQ(t.kind, "");
    /* a message listed twice in one publish is refused */
    struct mh_pkg_message two[2] = {pool[0], pool[0]};
    struct mh_pkg_info in = {.org_key = "x.com", .kind = "organisation", .source_org = "C",
                             .incident_id = "I", .bagging_date = day1};
    mh_error err;
    CHECK_INT(mh_ledger_publish(l, out, &in, two, 2, NULL, &err), MH_EINVAL);
    mh_ledger_close(l);

    /* rerun phase 2: nothing new */
    CHECK_INT(run(out, lg, phase2, 4, day2, &rs), MH_OK);
    CHECK_INT(rs.created, 0);
    state(out, lg, &snap);
    CHECK(equal_bufs(&snap, &ref2, "rerun of phase 2"));

    /* DIR lost: rebuilt identically from the ledger, with a later date given */
    char cmd[700];
    fmtp(cmd, sizeof cmd, "rm -rf '%s'", out);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(run(out, lg, phase2, 4, T("2024-03-01T00:00:00Z"), &rs), MH_OK);
    CHECK_INT(rs.created, 0);
    CHECK_INT(rs.rewritten, 5);
    state(out, lg, &snap);
    CHECK(equal_bufs(&snap, &ref2, "rebuilt DIR"));
    mh_buf_fini(&snap);
}

static void t_drift_and_leftovers(void)
{
    char out[512], lg[512], p[700];
    struct run_stats rs;
    paths("drift", out, lg);
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    /* the bytes of m2 change, and fabrikam's package is lost */
    fmtp(p, sizeof p, "rm -rf '%s/packages/fabrikam.com'", out);
    CHECK_INT(system(p), 0);
    char saved[512];
    memcpy(saved, pool_raw[1], sizeof saved);
    pool_raw[1][strlen(pool_raw[1]) - 3] = 'X';
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    CHECK_INT(rs.drifted, 1); /* fabrikam (pat also holds m2, but its directory is intact) */
    CHECK_INT(rs.present, 2);
    memcpy(pool_raw[1], saved, sizeof saved);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com", out);
    CHECK(!mh_fs_exists(p)); /* not replaced by something else */
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    CHECK_INT(rs.rewritten, 1);
    CHECK(mh_fs_exists(p));

    /* an unrecorded leftover supplement is removed */
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-9/data", out);
    CHECK_INT(mh_fs_mkdirs(p, NULL), MH_OK);
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    CHECK_INT(rs.removed, 1);
    fmtp(p, sizeof p, "%s/packages/fabrikam.com/supplement-9", out);
    CHECK(!mh_fs_exists(p));
}

/* ---- kill and resume ---- */

static const char *kill_point;
static int kill_at, hits;

static void count_hook(const char *point)
{
    if (!strcmp(point, kill_point)) hits++;
}

static void kill_hook(const char *point)
{
    if (!strcmp(point, kill_point) && ++hits == kill_at) _exit(77);
}

static int occurrences(const char *point, int phase)
{
    char out[512], lg[512], cmd[1200];
    struct run_stats rs;
    paths("count", out, lg);
    fmtp(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s-wal' '%s-shm'", out, lg, lg, lg);
    if (system(cmd) != 0) return 0;
    if (phase == 2 && run(out, lg, phase1, 3, day1, &rs) != MH_OK) return 0;
    kill_point = point;
    hits = 0;
    mh_notify_crash_hook = count_hook;
    mh_status st = run(out, lg, phase == 1 ? phase1 : phase2, phase == 1 ? 3 : 4, phase == 1 ? day1 : day2, &rs);
    mh_notify_crash_hook = NULL;
    return st == MH_OK ? hits : 0;
}

static void t_kill_and_resume(void)
{
    static const char *points[] = {"pkg-file",     "pkg-synced",       "pkg-old-moved",
                                   "pkg-swapped",  "pkg-done",         "ledger-before-commit",
                                   "ledger-in-tx", "ledger-committed"};
    struct mh_buf snap;
    mh_buf_init(&snap, 0);
    int kills = 0, cases = 0, bad = 0;
    for (int phase = 1; phase <= 2; phase++)
        for (size_t pi = 0; pi < sizeof points / sizeof points[0]; pi++) {
            int occ = occurrences(points[pi], phase);
            if (strcmp(points[pi], "pkg-old-moved") != 0) CHECK(occ > 0);
            for (int at = 1; at <= occ; at++) {
                /* pkg-file fires for every file: a sample of positions */
                if (!strcmp(points[pi], "pkg-file") && at != 1 && at != 4 && at % 9 != 0) continue;
                char out[512], lg[512], cmd[1200];
                struct run_stats rs;
                paths("kill", out, lg);
                fmtp(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s-wal' '%s-shm'", out, lg, lg, lg);
                CHECK_INT(system(cmd), 0);
                if (phase == 2) CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
                fflush(NULL);
                pid_t pid = fork();
                if (pid == 0) {
                    kill_point = points[pi];
                    kill_at = at;
                    hits = 0;
                    mh_notify_crash_hook = kill_hook;
                    run(out, lg, phase == 1 ? phase1 : phase2, phase == 1 ? 3 : 4, phase == 1 ? day1 : day2, &rs);
                    _exit(0);
                }
                int ws = 0;
                waitpid(pid, &ws, 0);
                cases++;
                if (WIFEXITED(ws) && WEXITSTATUS(ws) == 77) kills++;
                /* restart the interrupted phase, then compare */
                int ok = run(out, lg, phase == 1 ? phase1 : phase2, phase == 1 ? 3 : 4, phase == 1 ? day1 : day2, &rs) == MH_OK;
                state(out, lg, &snap);
                ok = ok && equal_bufs(&snap, phase == 1 ? &ref1 : &ref2, "state after resume");
                if (phase == 1) { /* and the next phase still ends where it should */
                    ok = ok && run(out, lg, phase2, 4, day2, &rs) == MH_OK;
                    state(out, lg, &snap);
                    ok = ok && equal_bufs(&snap, &ref2, "state after phase 2");
                }
                if (!ok) {
                    bad++;
                    fprintf(stderr, "kill at %s #%d (phase %d) did not resume exactly\n", points[pi],
                            at, phase);
                }
            }
        }
    CHECK_INT(bad, 0);
    CHECK(kills == cases && cases > 20);
    fprintf(stderr, "kill-and-resume: %d kills, all resumed to the uninterrupted result\n", kills);
    mh_buf_fini(&snap);
}

/* Every allocation of a first run (SQLite's included) fails in turn; the
 * run must stop cleanly (MH_ENOMEM, or MH_EDB where SQLite reports it so)
 * and a later clean run must still reach the uninterrupted result. */
static void alloc_failures(const char *name)
{
    char out[512], lg[512], cmd[1200];
    struct run_stats rs;
    struct mh_buf snap;
    mh_buf_init(&snap, 0);
    paths(name, out, lg);
    int k, failed = 0, bad = 0, streak = 0;
    for (k = 0; k < 20000 && streak < 5; k += (k < 100 ? 1 : 29)) {
        /* every point near the start, then a sample: the run makes ~2,500 */
        CHECK_INT(mh_fs_rmtree(out, NULL), MH_OK);
        static const char *const suffix[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            fmtp(cmd, sizeof cmd, "%s%s", lg, suffix[i]);
            unlink(cmd);
        }
        quiet_runs = true;
        mh_alloc_fail_after(k);
        mh_status st = run(out, lg, phase1, 3, day1, &rs);
        mh_alloc_fail_after(-1);
        quiet_runs = false;
        if (st == MH_OK) {
            streak++;
        } else {
            streak = 0;
            failed++;
            if (st != MH_ENOMEM && st != MH_EDB) {
                fprintf(stderr, "alloc failure %d: %s\n", k, mh_status_str(st));
                bad++;
            }
        }
        if (run(out, lg, phase1, 3, day1, &rs) != MH_OK) bad++;
        state(out, lg, &snap);
        if (!equal_bufs(&snap, &ref1, "state after an allocation failure")) bad++;
        if (bad > 3) break;
    }
    CHECK_INT(bad, 0);
    CHECK(streak >= 5 && failed > 40);
    fprintf(stderr, "%s: %d points, %d runs failed cleanly\n", name, k, failed);
    mh_buf_fini(&snap);
}

static void t_alloc_failures(void)
{
    alloc_failures("ledger alloc failures");
}

/* Batches (mh_ledger_publish_batch + mh_ledger_flush) give the ledger and
 * DIR of single publishes, whatever the batch size; a package that cannot
 * be staged fails the publish cleanly (nothing recorded, nothing removed
 * but its own temporary directory); allocation failures inside a batch
 * (copies kept for the transaction) leave no stray state behind. */
static void t_batches(void)
{
    char out[512], lg[512], p[700];
    struct run_stats rs;
    struct mh_buf snap;
    mh_buf_init(&snap, 0);
    for (size_t b = 1; b <= 3; b++) {
        char name[32];
        fmtp(name, sizeof name, "batch%zu", b);
        batch_size = b;
        paths(name, out, lg);
        CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
        CHECK_INT(rs.created, 3);
        state(out, lg, &snap);
        CHECK(equal_bufs(&snap, &ref1, "batched phase 1"));
        CHECK_INT(run(out, lg, phase2, 4, day2, &rs), MH_OK);
        CHECK_INT(rs.created, 2);
        CHECK_INT(rs.present, 3);
        state(out, lg, &snap);
        CHECK(equal_bufs(&snap, &ref2, "batched phase 2"));
    }

    /* DIR/packages is a file: staging fails; nothing is recorded */
    batch_size = 2;
    paths("batch-stage", out, lg);
    CHECK_INT(mh_fs_mkdirs(out, NULL), MH_OK);
    fmtp(p, sizeof p, "%s/packages", out);
    CHECK_INT(mh_fs_write(p, "x", 1, false, NULL), MH_OK);
    quiet_runs = true;
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_EIO);
    quiet_runs = false;
    CHECK(mh_fs_exists(p) && !mh_fs_is_dir(p));
    mh_ledger *l = NULL;
    struct mh_ledger_totals t;
    CHECK_INT(mh_ledger_open(lg, &l, NULL), MH_OK);
    CHECK_INT(mh_ledger_org_totals(l, "fabrikam.com", &t, NULL), MH_OK);
    CHECK_INT(t.packages, 0);
    mh_ledger_close(l);
    unlink(p);
    CHECK_INT(run(out, lg, phase1, 3, day1, &rs), MH_OK);
    state(out, lg, &snap);
    CHECK(equal_bufs(&snap, &ref1, "batched run after a staging failure"));

    alloc_failures("batched alloc failures");
    batch_size = 0;
    mh_buf_fini(&snap);
}

static void t_open_errors(void)
{
    mh_ledger *l = NULL;
    mh_error err;
    char p[600];
    fmtp(p, sizeof p, "%s/other.db", tmpdir);
    CHECK_INT(mh_ledger_open(p, &l, &err), MH_OK);
    mh_ledger_close(l);
    /* pretend a future schema */
    mh_db *db = NULL;
    CHECK_INT(mh_db_open(p, 0, &db, &err), MH_OK);
    CHECK_INT(mh_db_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema'", &err), MH_OK);
    mh_db_close(db);
    l = NULL;
    CHECK_INT(mh_ledger_open(p, &l, &err), MH_ESTATE);
    CHECK(l == NULL);
    CHECK_INT(mh_ledger_open("/nonexistent/dir/x.db", &l, &err), MH_EDB);
    mh_ledger_close(NULL);
}

int main(void)
{
    /* tmpfs when there is one: fsync is free there and a killed process
     * loses nothing a real crash would not (the page cache survives it) */
    fmtp(tmpdir, sizeof tmpdir, "%s/mh-test-ledger-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tmpdir)) return 1;
    make_pool();
    day1 = T("2024-02-01T12:00:00Z");
    day2 = T("2024-02-02T12:00:00Z");
    static const struct mh_test T_[] = {
        {"reruns", t_reruns},
        {"drift_and_leftovers", t_drift_and_leftovers},
        {"kill_and_resume", t_kill_and_resume},
        {"alloc_failures", t_alloc_failures},
        {"batches", t_batches},
        {"open_errors", t_open_errors},
    };
    int rc = MH_TEST_RUN(T_);
    mh_buf_fini(&ref1);
    mh_buf_fini(&ref2);
    char cmd[300];
    fmtp(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
