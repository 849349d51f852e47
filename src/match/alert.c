/*
 * match/alert.c -- build and render alerts (see alert.h)
 *
 * `fields` lists every field the rule's detection items name (in rule
 * order, each once) with the first value the event has for it, after the
 * field map's transforms: what the rule saw. Fields the event lacks are
 * left out.
 *
 * No allocation of its own: an alert borrows its strings (see match.c) and
 * every rendering appends to the caller's buffer, which a batch loop reuses
 * (the csv cells that hold JSON or joined lists are quoted in place).
 */
#include "match/alert.h"

#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "normalize/event.h"

const char *const mh_alert_entity_names[MH_ALERT_ENTITIES] = {
    "user", "ip", "app_id", "client_app_id", "session_id", "token_id", "mailbox"};

static const enum mh_entity ent_ids[MH_ALERT_ENTITIES] = {
    MH_ENT_USER, MH_ENT_IP, MH_ENT_APP_ID, MH_ENT_CLIENT_APP_ID,
    MH_ENT_SESSION_ID, MH_ENT_TOKEN_ID, MH_ENT_MAILBOX};

static mh_status add_fields(mh_matcher *m, struct mh_event *ev, const struct mh_dnode *d,
                            struct mh_alert *a, uint32_t *seen, uint32_t *nseen)
{
    if (d->kind != MH_DN_ITEM) {
        for (uint32_t i = 0; i < d->n; i++) MH_TRY(add_fields(m, ev, d->kids[i], a, seen, nseen));
        return MH_OK;
    }
    const struct mh_item *it = d->item;
    if (it->keyword || it->field == MH_FIELD_KEYWORD || a->nfields >= MH_ALERT_MAX_FIELDS) return MH_OK;
    for (uint32_t i = 0; i < *nseen; i++)
        if (seen[i] == it->field) return MH_OK;
    seen[(*nseen)++] = it->field;
    struct mh_slice v;
    bool found = false;
    MH_TRY(mh_match_field_value(m, ev, it->field, &v, &found));
    if (!found) return MH_OK;
    a->fname[a->nfields] = it->fname;
    a->fval[a->nfields] = v;
    a->nfields++;
    return MH_OK;
}

mh_status mh_alert_from_match(mh_matcher *m, const struct mh_rule *r, struct mh_event *ev,
                              const char *file, struct mh_alert *a)
{
    memset(a, 0, sizeof *a);
    a->time = ev->time;
    a->rule = r;
    a->source.file = file;
    a->source.record = ev->rec ? ev->rec->number : 0;
    a->source.offset = ev->rec ? ev->rec->offset : 0;
    uint32_t seen[MH_ALERT_MAX_FIELDS], nseen = 0;
    for (uint32_t d = 0; d < r->ndets; d++) {
        if (r->dets[d].name[0] == '_') continue; /* applied filters */
        MH_TRY(add_fields(m, ev, r->dets[d].root, a, seen, &nseen));
    }
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) {
        struct mh_slice s;
        mh_status st = mh_event_entity(ev, ent_ids[i], &s);
        if (st == MH_OK) a->ent[i] = s;
        else if (st != MH_ENOTFOUND) return st;
    }
    return MH_OK;
}

static void jw_slice(struct mh_jw *w, struct mh_slice s)
{
    if (s.ptr) mh_jw_strn(w, s.ptr, s.len);
    else mh_jw_null(w);
}

static void jw_opt(struct mh_jw *w, const char *s)
{
    if (s) mh_jw_str(w, s);
    else mh_jw_null(w);
}

static mh_status render_json(struct mh_buf *out, const struct mh_alert *a)
{
    struct mh_jw w;
    const struct mh_rule *r = a->rule;
    mh_jw_init(&w, out);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "time");
    mh_jw_time(&w, a->time);
    mh_jw_key(&w, "rule_id");
    jw_opt(&w, r->id ? r->id : r->name);
    mh_jw_key(&w, "rule_title");
    jw_opt(&w, r->title);
    mh_jw_key(&w, "level");
    if (r->level) mh_jw_str(&w, mh_level_name((enum mh_level)r->level));
    else mh_jw_null(&w);
    mh_jw_key(&w, "tags");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < r->ntags; i++) mh_jw_str(&w, r->tags[i]);
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "logsource");
    mh_jw_obj_begin(&w);
    if (r->product) mh_jw_key(&w, "product"), mh_jw_str(&w, r->product);
    if (r->service) mh_jw_key(&w, "service"), mh_jw_str(&w, r->service);
    if (r->category) mh_jw_key(&w, "category"), mh_jw_str(&w, r->category);
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "source");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "file");
    jw_opt(&w, a->source.file);
    mh_jw_key(&w, "record");
    mh_jw_uint(&w, a->source.record);
    mh_jw_key(&w, "offset");
    mh_jw_uint(&w, a->source.offset);
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "fields");
    mh_jw_obj_begin(&w);
    for (uint32_t i = 0; i < a->nfields; i++) {
        mh_jw_key(&w, a->fname[i]);
        jw_slice(&w, a->fval[i]);
    }
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "entities");
    mh_jw_obj_begin(&w);
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) {
        mh_jw_key(&w, mh_alert_entity_names[i]);
        jw_slice(&w, a->ent[i]);
    }
    mh_jw_obj_end(&w);
    if (a->is_corr) {
        mh_jw_key(&w, "correlation");
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "type");
        mh_jw_str(&w, r->corr ? mh_corr_type_name((enum mh_corr_type)r->corr->type) : "");
        mh_jw_key(&w, "group");
        mh_jw_obj_begin(&w);
        for (uint32_t i = 0; i < a->ngroup; i++) {
            mh_jw_key(&w, a->gname[i]);
            jw_slice(&w, a->gval[i]);
        }
        mh_jw_obj_end(&w);
        mh_jw_key(&w, "count");
        if (a->count == (double)(uint64_t)a->count) mh_jw_uint(&w, (uint64_t)a->count);
        else mh_jw_double(&w, a->count);
        mh_jw_key(&w, "events");
        mh_jw_arr_begin(&w);
        for (uint32_t i = 0; i < a->nrefs; i++) {
            mh_jw_obj_begin(&w);
            mh_jw_key(&w, "file");
            jw_opt(&w, a->refs[i].file);
            mh_jw_key(&w, "record");
            mh_jw_uint(&w, a->refs[i].record);
            mh_jw_key(&w, "offset");
            mh_jw_uint(&w, a->refs[i].offset);
            mh_jw_obj_end(&w);
        }
        mh_jw_arr_end(&w);
        if (a->capped) {
            mh_jw_key(&w, "capped");
            mh_jw_bool(&w, true);
        }
        mh_jw_obj_end(&w);
    }
    mh_jw_obj_end(&w);
    MH_TRY(mh_jw_status(&w));
    return mh_buf_putc(out, '\n');
}

/* End the cell written at out->data[mark..len): quote it in place when it
 * holds a separator, a quote or a line break (quotes doubled), then append
 * the separator. Cells are rendered straight into `out`: no scratch buffer
 * per alert. */
static mh_status csv_end(struct mh_buf *out, size_t mark, bool last)
{
    size_t q = 0;
    bool quote = false;
    for (size_t i = mark; i < out->len; i++) {
        char c = out->data[i];
        if (c == '"') q++;
        if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = true;
    }
    if (quote) {
        MH_TRY(mh_buf_reserve(out, q + 2));
        char *d = out->data;
        size_t w = out->len + q + 2;
        d[--w] = '"';
        for (size_t i = out->len; i-- > mark;) {
            d[--w] = d[i];
            if (d[i] == '"') d[--w] = '"';
        }
        d[--w] = '"';
        out->len += q + 2;
        d[out->len] = '\0';
    }
    return mh_buf_putc(out, last ? '\n' : ',');
}

static mh_status csv_cell(struct mh_buf *out, const char *s, size_t n, bool last)
{
    size_t mark = out->len;
    MH_TRY(mh_buf_append(out, s, n));
    return csv_end(out, mark, last);
}

static mh_status csv_str(struct mh_buf *out, const char *s, bool last)
{
    return csv_cell(out, s ? s : "", s ? strlen(s) : 0, last);
}

static mh_status render_csv(struct mh_buf *out, const struct mh_alert *a)
{
    const struct mh_rule *r = a->rule;
    char t[40], num[32];
    mh_time_format(a->time, t, 0);
    MH_TRY(csv_str(out, t, false));
    MH_TRY(csv_str(out, r->id ? r->id : r->name, false));
    MH_TRY(csv_str(out, r->title, false));
    MH_TRY(csv_str(out, mh_level_name((enum mh_level)r->level), false));
    size_t mark = out->len;
    for (uint32_t i = 0; i < r->ntags; i++) MH_TRY(mh_buf_printf(out, "%s%s", i ? " " : "", r->tags[i]));
    MH_TRY(csv_end(out, mark, false));
    MH_TRY(csv_str(out, a->source.file, false));
    snprintf(num, sizeof num, "%llu", (unsigned long long)a->source.record);
    MH_TRY(csv_str(out, num, false));
    snprintf(num, sizeof num, "%llu", (unsigned long long)a->source.offset);
    MH_TRY(csv_str(out, num, false));
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) MH_TRY(csv_cell(out, a->ent[i].ptr ? a->ent[i].ptr : "", a->ent[i].len, false));
    /* fields as one JSON object */
    struct mh_jw w;
    mark = out->len;
    mh_jw_init(&w, out);
    mh_jw_obj_begin(&w);
    for (uint32_t i = 0; i < a->nfields; i++) {
        mh_jw_key(&w, a->fname[i]);
        jw_slice(&w, a->fval[i]);
    }
    mh_jw_obj_end(&w);
    MH_TRY(mh_jw_status(&w));
    MH_TRY(csv_end(out, mark, false));
    if (a->is_corr) {
        MH_TRY(csv_str(out, mh_corr_type_name((enum mh_corr_type)r->corr->type), false));
        mark = out->len;
        for (uint32_t i = 0; i < a->ngroup; i++)
            MH_TRY(mh_buf_printf(out, "%s%s=%.*s", i ? " " : "", a->gname[i], (int)a->gval[i].len,
                                 a->gval[i].ptr ? a->gval[i].ptr : ""));
        MH_TRY(csv_end(out, mark, false));
        snprintf(num, sizeof num, "%.15g", a->count);
        return csv_str(out, num, true);
    }
    MH_TRY(csv_str(out, "", false));
    MH_TRY(csv_str(out, "", false));
    return csv_str(out, "", true);
}

static mh_status cell(struct mh_buf *out, const char *s, size_t n, size_t width)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w < width; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) c = ' ';
        MH_TRY(mh_buf_putc(out, (char)c));
        if ((c & 0xc0) != 0x80) w++;
    }
    for (; w < width + 2; w++) MH_TRY(mh_buf_putc(out, ' '));
    return MH_OK;
}

static mh_status render_table(struct mh_buf *out, const struct mh_alert *a)
{
    char t[40], src[600];
    mh_time_format_sec(a->time, t);
    if (a->time == MH_TIME_NONE) memcpy(t, "-", 2);
    MH_TRY(cell(out, t, strlen(t), 20));
    const char *lvl = mh_level_name((enum mh_level)a->rule->level);
    MH_TRY(cell(out, lvl, strlen(lvl), 13));
    const char *title = a->rule->title ? a->rule->title : "";
    MH_TRY(cell(out, title, strlen(title), 50));
    struct mh_slice u = a->ent[0], ip = a->ent[1];
    MH_TRY(cell(out, u.ptr ? u.ptr : "-", u.ptr ? u.len : 1, 32));
    MH_TRY(cell(out, ip.ptr ? ip.ptr : "-", ip.ptr ? ip.len : 1, 22));
    if (a->is_corr)
        snprintf(src, sizeof src, "%s %.15g", mh_corr_type_name((enum mh_corr_type)a->rule->corr->type),
                 a->count);
    else
        snprintf(src, sizeof src, "%.500s:%llu", a->source.file ? a->source.file : "-",
                 (unsigned long long)a->source.record);
    MH_TRY(mh_buf_puts(out, src));
    return mh_buf_putc(out, '\n');
}

mh_status mh_alert_header(struct mh_buf *out, enum mh_alert_format f)
{
    if (f == MH_AF_CSV)
        return mh_buf_puts(out, "time,rule_id,rule_title,level,tags,source_file,source_record,"
                                "source_offset,user,ip,app_id,client_app_id,session_id,token_id,"
                                "mailbox,fields,correlation_type,correlation_group,correlation_count\n");
    if (f == MH_AF_TABLE) {
        MH_TRY(cell(out, "TIME", 4, 20));
        MH_TRY(cell(out, "LEVEL", 5, 13));
        MH_TRY(cell(out, "RULE", 4, 50));
        MH_TRY(cell(out, "USER", 4, 32));
        MH_TRY(cell(out, "IP", 2, 22));
        return mh_buf_puts(out, "SOURCE\n");
    }
    return MH_OK;
}

mh_status mh_alert_render(struct mh_buf *out, enum mh_alert_format f, const struct mh_alert *a)
{
    switch (f) {
    case MH_AF_CSV: return render_csv(out, a);
    case MH_AF_TABLE: return render_table(out, a);
    default: return render_json(out, a);
    }
}
