/*
 * sim/trace.c -- Exchange Online message trace, enhanced summary report
 *
 * Pipeline: sim. logs/trace.csv is the downloadable *enhanced summary*
 * report (log-formats.md §10) of the primary tenant: one row per message,
 *   origin_timestamp_utc,sender_address,recipient_status,message_subject,
 *   total_bytes,message_id,network_message_id,original_client_ip,
 *   directionality,connector_id,delivery_priority
 * recipient_status packs every recipient the tenant saw as
 * "addr##Receive, Deliver" (a mailbox of the tenant) or "addr##Receive, Send"
 * (relayed out), joined with ';' -- Bcc recipients included, as transport
 * sees them. Encoded as downloaded: UTF-16LE WITHOUT a byte-order mark,
 * CRLF line ends, RFC 4180 quoting where a cell needs it.
 * message_id keeps its angle brackets and equals the Message-ID header of the
 * mbox copies and the InternetMessageId of MailItemsAccessed/Send records.
 * Messages without a Message-ID (scanner mail relayed straight to a mailbox)
 * have no trace row.
 */
#include <string.h>

#include "sim/model.h"

mh_status sim_trace_open(struct sim *S)
{
    struct sim_tx *t = &S->scratch;
    mh_buf_clear(&t->b);
    SIM_LIT(t, "origin_timestamp_utc,sender_address,recipient_status,message_subject,total_bytes,"
               "message_id,network_message_id,original_client_ip,directionality,connector_id,"
               "delivery_priority\r\n");
    return sim_out_trace_row(S);
}

static void cell(struct sim_tx *t, const char *s, size_t n)
{
    bool q = false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') q = true;
    if (!q) {
        sim_tx_put(t, s, n);
        return;
    }
    sim_tx_c(t, '"');
    sim_tx_csvq(t, s, n);
    sim_tx_c(t, '"');
}

mh_status sim_emit_trace(struct sim *S, const struct sim_msg *m, const char *subject,
                         const struct sim_ip *client_ip, int direction, const uint32_t *extra,
                         uint32_t nextra)
{
    if (!m->has_id) return MH_OK;
    struct sim_tx *t = &S->scratch;
    mh_buf_clear(&t->b);
    sim_tx_time_7z(t, m->t);
    sim_tx_c(t, ',');
    sim_addr env = m->sender != SIM_NONE ? m->sender : m->from;
    sim_tx_s(t, sim_addr_email(S, env));
    SIM_LIT(t, ",\"");
    uint32_t nr = (uint32_t)m->nto + m->ncc + m->nbcc;
    bool first = true;
    for (uint32_t i = 0; i < nr; i++) {
        sim_addr a = m->rcpt[i];
        bool mine = SIM_ADDR_KIND(a) == A_USER && S->users[SIM_ADDR_IDX(a)].tenant == 0;
        if (direction == 1 && !mine) continue; /* inbound: only our recipients are visible */
        if (!first) sim_tx_c(t, ';');
        first = false;
        sim_tx_s(t, sim_addr_email(S, a));
        if (mine)
            SIM_LIT(t, "##Receive, Deliver");
        else
            SIM_LIT(t, "##Receive, Send");
    }
    for (uint32_t i = 0; i < nextra; i++) {
        if (S->users[extra[i]].tenant != 0) continue;
        if (!first) sim_tx_c(t, ';');
        first = false;
        sim_tx_s(t, S->users[extra[i]].upn);
        SIM_LIT(t, "##Receive, Deliver");
    }
    SIM_LIT(t, "\",");
    cell(t, subject, strlen(subject));
    sim_tx_c(t, ',');
    sim_tx_u64(t, m->size);
    sim_tx_c(t, ',');
    sim_tx_msgid(S, t, m->serial, m->from);
    sim_tx_c(t, ',');
    struct sim_rng r;
    uint8_t nmid[16];
    sim_rng_derive(&r, S->o.seed, SIM_S_MAIL, m->serial, 0x4e4d4944);
    sim_guid(&r, nmid);
    sim_tx_guid(t, nmid);
    sim_tx_c(t, ',');
    if (client_ip) sim_tx_ip(t, client_ip);
    sim_tx_c(t, ',');
    sim_tx_s(t, direction == 1 ? "Incoming" : "Originating");
    SIM_LIT(t, ",,Normal\r\n");
    return sim_out_trace_row(S);
}
