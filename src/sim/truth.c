/*
 * sim/truth.c -- ground truth: what the attackers did and what it cost
 *
 * Pipeline: sim. Collected while the logs are written, saved as
 * DIR/truth.json at the end:
 *
 *   {"scenarios":["midnight-blizzard","storm-0558"],
 *    "malicious":[{"file":"logs/ual/x-2024-03-08.jsonl","record":412,
 *                  "step":"spray","scenario":"midnight-blizzard"},...],
 *    "steps":[{"scenario":..,"step":..,"description":..,"first":..,"last":..},...],
 *    "compromised":{"users":[upn..],"apps":[app id..],"ips":[ip..]},
 *    "exfiltrated":["<message-id>",...],
 *    "notify":{"<organisation key>":["<message-id>",...],...},
 *    "secrets":[{"message_id":..,"rule":..,"fingerprint":..},...]}
 *
 * malicious: every record written while an attack handler had tagged its
 *   step (out.c calls sim_truth_ref): file relative to DIR and the 1-based
 *   record number as the reader counts records in that file. A UAL record
 *   of the primary tenant other than MailItemsAccessed appears twice: its
 *   .jsonl line and its Purview row.
 * steps: only steps that produced records; first/last = their record times.
 * exfiltrated: message ids (angle brackets as in the logs) of every message
 *   listed in an attacker-context Bind record, plus every message that was in
 *   a folder when it was Sync'd in attacker context. No throttling is
 *   simulated, so no message is exfiltrated by a throttle window.
 *   Messages are indexed only for attack-target mailboxes (sim_target_add;
 *   bounded by MH_SIM_MAX_TARGETS / MH_SIM_MAX_TARGET_MSGS).
 * notify: organisation key -> exfiltrated messages where that organisation
 *   is a party in From, Sender, Reply-To, To, Cc or Bcc (a Bcc'd
 *   organisation is a party of its own message; nothing else learns of it).
 *   Keys: registrable domain; the override key (first domain) of a
 *   multi-domain organisation from tenant.json; the full address of a
 *   free-mail user; the list host's registrable domain for mailing lists.
 *   Internal domains (every simulated tenant's) are excluded. Keys sorted.
 * secrets: planted secrets of exfiltrated messages; fingerprint = lower-case
 *   hex SHA-256 of the secret string (base/sha256.c).
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/sha256.h"
#include "sim/model.h"

static const char *const scen_name[SC__N] = {"midnight-blizzard", "storm-0558"};

mh_status sim_truth_init(struct sim *S)
{
    S->tag_scen = S->tag_step = -1;
    mh_map_init(&S->truth_ips, 1000000, false);
    mh_map_init(&S->truth_users, 10000, true);
    mh_map_init(&S->truth_apps, 10000, true);
    S->targets = mh_calloc(MH_SIM_MAX_TARGETS, sizeof *S->targets);
    return S->targets ? MH_OK : MH_ENOMEM;
}

void sim_truth_fini(struct sim *S)
{
    mh_map_fini(&S->truth_ips);
    mh_map_fini(&S->truth_users);
    mh_map_fini(&S->truth_apps);
    if (S->targets)
        for (uint32_t i = 0; i < S->ntargets; i++) mh_free(S->targets[i].idx);
    mh_free(S->targets);
    mh_free(S->tmsg);
    mh_free(S->parties);
    mh_free(S->secrets);
    mh_free(S->refs);
    S->targets = NULL;
    S->tmsg = NULL;
    S->parties = NULL;
    S->secrets = NULL;
    S->refs = NULL;
}

void sim_truth_define_step(struct sim *S, int scen, int step, const char *name, const char *desc)
{
    struct sim_step *s = &S->steps[scen][step];
    s->name = name;
    s->desc = desc;
    s->used = false;
}

/* An MH_GROW status, with the simulator limit named when it is MH_ELIMIT. */
static mh_status grown(struct sim *S, mh_status st, const char *what)
{
    if (st == MH_ELIMIT)
        return mh_error_set(S->err, MH_ELIMIT, "simulator limit reached", "%s", what);
    return st;
}

mh_status sim_truth_ref(struct sim *S, uint32_t file, uint64_t record, mh_time t)
{
    MH_TRY(grown(S, MH_GROW(S->refs, S->refs_cap, S->nrefs + 1, 1024, MH_SIM_MAX_TRUTH_REFS),
                 "MH_SIM_MAX_TRUTH_REFS"));
    struct sim_ref *r = &S->refs[S->nrefs++];
    r->file = file;
    r->record = record;
    r->scen = (uint8_t)S->tag_scen;
    r->step = (uint8_t)S->tag_step;
    struct sim_step *s = &S->steps[S->tag_scen][S->tag_step];
    if (!s->used || t < s->first) s->first = t;
    if (!s->used || t > s->last) s->last = t;
    s->used = true;
    return MH_OK;
}

static mh_status put(struct mh_map *m, const char *s)
{
    struct mh_map_entry *e;
    return mh_map_put(m, s, strlen(s), &e, NULL);
}

mh_status sim_truth_ip(struct sim *S, const struct sim_ip *ip)
{
    char b[48];
    sim_ip_str(ip, b);
    return put(&S->truth_ips, b);
}

mh_status sim_truth_user(struct sim *S, const char *upn)
{
    return put(&S->truth_users, upn);
}

mh_status sim_truth_app(struct sim *S, const uint8_t app_id[16])
{
    char b[37];
    sim_guid_str(app_id, b);
    return put(&S->truth_apps, b);
}

/* ---------------------------------------------------------------- targets */

mh_status sim_target_add(struct sim *S, uint32_t user)
{
    if (S->users[user].target) return MH_OK;
    if (S->ntargets >= MH_SIM_MAX_TARGETS)
        return mh_error_set(S->err, MH_ELIMIT, "too many target mailboxes",
                            "MH_SIM_MAX_TARGETS = %u", MH_SIM_MAX_TARGETS);
    S->targets[S->ntargets].user = user;
    S->users[user].target = ++S->ntargets;
    return MH_OK;
}

struct sim_target *sim_target_of(struct sim *S, uint32_t user)
{
    uint32_t k = S->users[user].target;
    return k ? &S->targets[k - 1] : NULL;
}

mh_status sim_target_record(struct sim *S, uint32_t user, const struct sim_msg *m, uint8_t folder,
                            mh_time t)
{
    struct sim_target *tg = sim_target_of(S, user);
    if (!tg) return MH_OK;
    MH_TRY(grown(S, MH_GROW(S->tmsg, S->tmsg_cap, S->ntmsg + 1, 1024, MH_SIM_MAX_TARGET_MSGS),
                 "MH_SIM_MAX_TARGET_MSGS"));
    MH_TRY(grown(S,
                 MH_GROW(S->parties, S->parties_cap, S->nparties + 2 * MH_SIM_MAX_RCPT + 1, 1024,
                         (size_t)MH_SIM_MAX_TARGET_MSGS * 4),
                 "party list"));
    struct sim_tmsg *x = &S->tmsg[S->ntmsg];
    memset(x, 0, sizeof *x);
    x->serial = m->serial;
    x->from = m->from;
    x->t = t;
    x->user = user;
    x->folder = folder;
    x->has_id = m->has_id;
    x->secret = m->secret;
    x->party_off = (uint32_t)S->nparties;
    sim_addr all[3 + MH_SIM_MAX_RCPT];
    uint32_t na = 0;
    all[na++] = m->from;
    if (m->sender != SIM_NONE) all[na++] = m->sender;
    if (m->reply_to != SIM_NONE) all[na++] = m->reply_to;
    for (uint32_t i = 0; i < (uint32_t)m->nto + m->ncc + m->nbcc; i++) all[na++] = m->rcpt[i];
    for (uint32_t i = 0; i < na; i++) {
        uint32_t org = sim_addr_org(S, all[i]);
        if (org == SIM_NONE) continue;
        bool dup = false;
        for (uint32_t k = x->party_off; k < S->nparties; k++) dup |= S->parties[k] == org;
        if (!dup) S->parties[S->nparties++] = org;
    }
    x->nparty = (uint8_t)(S->nparties - x->party_off);
    /* per-target list */
    MH_TRY(MH_GROW(tg->idx, tg->cap, (size_t)tg->n + 1, 64, SIZE_MAX));
    tg->idx[tg->n++] = (uint32_t)S->ntmsg;
    S->ntmsg++;
    return MH_OK;
}

mh_status sim_secret_add(struct sim *S, uint64_t serial, sim_addr from, const char *rule,
                         const char *secret)
{
    MH_TRY(MH_GROW(S->secrets, S->secrets_cap, (size_t)S->nsecrets + 1, 64, SIZE_MAX));
    struct sim_secret *s = &S->secrets[S->nsecrets];
    MH_TRY(mh_sha256_hex(secret, strlen(secret), s->fp, NULL));
    s->serial = serial;
    s->from = from;
    s->rule = rule;
    S->nsecrets++;
    return MH_OK;
}

/* ---------------------------------------------------------------- output */

struct org_list {
    const char *key;
    uint32_t *ids; /* indices into the exfiltrated map */
    uint32_t n, cap;
};

static int cmp_org(const void *a, const void *b)
{
    return strcmp(((const struct org_list *)a)->key, ((const struct org_list *)b)->key);
}

static void msgid_str(struct sim *S, struct sim_tx *t, uint64_t serial, sim_addr from)
{
    mh_buf_clear(&t->b);
    sim_tx_msgid(S, t, serial, from);
    sim_tx_c(t, '\0');
}

mh_status sim_truth_write(struct sim *S)
{
    mh_status st = MH_OK;
    struct mh_buf b;
    struct mh_map exf;
    struct sim_tx id;
    struct org_list *orgs = NULL;
    mh_buf_init(&b, (size_t)1 << 34);
    mh_map_init(&exf, MH_SIM_MAX_TARGET_MSGS, false);
    sim_tx_init(&id, 1024);
    orgs = mh_calloc(S->norgs ? S->norgs : 1, sizeof *orgs);
    if (!orgs) {
        st = MH_ENOMEM;
        goto out;
    }
    /* exfiltrated, in delivery order of the target index */
    for (size_t i = 0; i < S->ntmsg; i++) {
        const struct sim_tmsg *x = &S->tmsg[i];
        if (!x->exfil || !x->has_id) continue;
        msgid_str(S, &id, x->serial, x->from);
        if (id.st) {
            st = id.st;
            goto out;
        }
        struct mh_map_entry *e;
        bool created;
        MH_CHECK(mh_map_put(&exf, id.b.data, id.b.len - 1, &e, &created));
        if (!created) continue;
        uint32_t k = (uint32_t)(exf.n - 1);
        e->value = x->serial;
        for (uint32_t p = 0; p < x->nparty; p++) {
            struct org_list *o = &orgs[S->parties[x->party_off + p]];
            if (MH_GROW(o->ids, o->cap, (size_t)o->n + 1, 8, SIZE_MAX) != MH_OK) {
                st = MH_ENOMEM;
                goto out;
            }
            o->ids[o->n++] = k;
        }
    }
    for (uint32_t i = 0; i < S->norgs; i++) orgs[i].key = S->orgs[i].key;

    struct mh_jw w;
    mh_jw_init(&w, &b);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "scenarios");
    mh_jw_arr_begin(&w);
    if (S->o.scenarios & MH_SIM_MIDNIGHT_BLIZZARD) mh_jw_str(&w, scen_name[SC_MB]);
    if (S->o.scenarios & MH_SIM_STORM_0558) mh_jw_str(&w, scen_name[SC_STORM]);
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "malicious");
    mh_jw_arr_begin(&w);
    for (size_t i = 0; i < S->nrefs; i++) {
        const struct sim_ref *r = &S->refs[i];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "file");
        mh_jw_str(&w, S->files[r->file].rel);
        mh_jw_key(&w, "record");
        mh_jw_uint(&w, r->record);
        mh_jw_key(&w, "step");
        mh_jw_str(&w, S->steps[r->scen][r->step].name);
        mh_jw_key(&w, "scenario");
        mh_jw_str(&w, scen_name[r->scen]);
        mh_jw_obj_end(&w);
        if (b.len > ((size_t)1 << 30)) break; /* safety: refs are capped anyway */
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "steps");
    mh_jw_arr_begin(&w);
    for (int sc = 0; sc < SC__N; sc++)
        for (int k = 0; k < SIM_MAX_STEPS; k++) {
            const struct sim_step *s = &S->steps[sc][k];
            if (!s->name || !s->used) continue;
            mh_jw_obj_begin(&w);
            mh_jw_key(&w, "scenario");
            mh_jw_str(&w, scen_name[sc]);
            mh_jw_key(&w, "step");
            mh_jw_str(&w, s->name);
            mh_jw_key(&w, "description");
            mh_jw_str(&w, s->desc);
            mh_jw_key(&w, "first");
            mh_jw_time(&w, s->first);
            mh_jw_key(&w, "last");
            mh_jw_time(&w, s->last);
            mh_jw_obj_end(&w);
        }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "compromised");
    mh_jw_obj_begin(&w);
    struct mh_map *lists[3] = {&S->truth_users, &S->truth_apps, &S->truth_ips};
    const char *names[3] = {"users", "apps", "ips"};
    for (int k = 0; k < 3; k++) {
        mh_jw_key(&w, names[k]);
        mh_jw_arr_begin(&w);
        for (size_t i = 0; i < lists[k]->n; i++)
            mh_jw_strn(&w, lists[k]->entries[i].key.ptr, lists[k]->entries[i].key.len);
        mh_jw_arr_end(&w);
    }
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "exfiltrated");
    mh_jw_arr_begin(&w);
    for (size_t i = 0; i < exf.n; i++)
        mh_jw_strn(&w, exf.entries[i].key.ptr, exf.entries[i].key.len);
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "notify");
    mh_jw_obj_begin(&w);
    qsort(orgs, S->norgs, sizeof *orgs, cmp_org);
    for (uint32_t i = 0; i < S->norgs; i++) {
        if (!orgs[i].n) continue;
        mh_jw_key(&w, orgs[i].key);
        mh_jw_arr_begin(&w);
        for (uint32_t k = 0; k < orgs[i].n; k++) {
            const struct mh_map_entry *e = &exf.entries[orgs[i].ids[k]];
            mh_jw_strn(&w, e->key.ptr, e->key.len);
        }
        mh_jw_arr_end(&w);
    }
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "secrets");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < S->nsecrets; i++) {
        const struct sim_secret *s = &S->secrets[i];
        msgid_str(S, &id, s->serial, s->from);
        if (!mh_map_get(&exf, id.b.data, id.b.len - 1)) continue;
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "message_id");
        mh_jw_str(&w, id.b.data);
        mh_jw_key(&w, "rule");
        mh_jw_str(&w, s->rule);
        mh_jw_key(&w, "fingerprint");
        mh_jw_str(&w, s->fp);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_obj_end(&w);
    st = mh_jw_status(&w);
    if (st == MH_OK) st = mh_buf_putc(&b, '\n');
    if (st != MH_OK) {
        mh_error_set(S->err, st, "cannot build truth.json", NULL);
        goto out;
    }
    MH_CHECK(sim_out_write_file(S, "truth.json", b.data, b.len));
out:
    if (orgs)
        for (uint32_t i = 0; i < S->norgs; i++) mh_free(orgs[i].ids);
    mh_free(orgs);
    sim_tx_fini(&id);
    mh_map_fini(&exf);
    mh_buf_fini(&b);
    return st;
}
