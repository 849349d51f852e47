/*
 * sim/ids.c -- identifiers in the shapes Microsoft writes them
 *
 * Pipeline: sim. GUIDs (stored as 16 bytes in text order), the sign-in UTI
 * encoding (base64url without padding of the GUID's .NET little-endian
 * bytes, log-formats.md §12; e.g. 4d63c1c4-c95b-4d3c-8e0a-1271fd813e00 ->
 * xMFjTVvJPE2OChJx_YE-AA), SIDs, PUIDs, Exchange folder and item ids,
 * mailbox server names, and Internet message ids in the style of the sending
 * mail system (Exchange Online, Gmail, Yahoo, generic MTAs), always with
 * their angle brackets. Ids that must agree across files (message ids,
 * folder ids) are pure functions of (seed, serial, sender) or of the mailbox
 * GUID, so every writer derives the same text without storing it.
 */
#include <string.h>

#include "sim/model.h"

void sim_guid(struct sim_rng *r, uint8_t g[16])
{
    sim_rng_bytes(r, g, 16);
    g[6] = (uint8_t)((g[6] & 0x0f) | 0x40); /* version 4 */
    g[8] = (uint8_t)((g[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

size_t sim_uti(const uint8_t g[16], char *out)
{
    uint8_t le[16] = {g[3], g[2], g[1],  g[0],  g[5],  g[4],  g[7],  g[6],
                      g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]};
    return sim_b64url_str(le, 16, out);
}

void sim_tx_sid(struct sim_tx *t, const struct sim_tenant *tn, uint32_t rid)
{
    SIM_LIT(t, "S-1-5-21-");
    sim_tx_u64(t, tn->sid[0]);
    sim_tx_c(t, '-');
    sim_tx_u64(t, tn->sid[1]);
    sim_tx_c(t, '-');
    sim_tx_u64(t, tn->sid[2]);
    sim_tx_c(t, '-');
    sim_tx_u64(t, rid);
}

void sim_tx_puid(struct sim_tx *t, uint64_t puid)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(puid >> (56 - 8 * i));
    sim_tx_hex(t, b, 8, true);
}

static const char folder_tail[3] = {'M', 'J', 'K'};

void sim_tx_folder_id(struct sim_tx *t, const uint8_t mbx[16], int folder)
{
    uint8_t b[33];
    uint64_t h = sim_mix(0x466f6c646572ULL, ((uint64_t)mbx[0] << 8) | mbx[15], 0);
    memcpy(b, mbx, 16);
    for (int i = 0; i < 16; i++) b[16 + i] = (uint8_t)(mbx[15 - i] ^ (uint8_t)(h >> (i % 8 * 8)));
    b[32] = 0;
    SIM_LIT(t, "LgAAAAC");
    sim_tx_b64(t, b, 33);
    SIM_LIT(t, "AAAAAAE");
    sim_tx_c(t, folder_tail[folder % 3]);
    SIM_LIT(t, "AAAB");
}

void sim_tx_item_id(struct sim_tx *t, const uint8_t mbx[16], uint64_t serial)
{
    uint8_t b[42];
    memcpy(b, mbx, 16);
    uint64_t h1 = sim_mix(serial, 0x4974656d, mbx[3]), h2 = sim_mix(h1, serial, 7);
    for (int i = 0; i < 8; i++) {
        b[16 + i] = (uint8_t)(h1 >> (8 * i));
        b[24 + i] = (uint8_t)(h2 >> (8 * i));
    }
    memset(b + 32, 0, 10);
    b[41] = 1;
    SIM_LIT(t, "RgAAAAD");
    sim_tx_b64(t, b, 42);
    SIM_LIT(t, "AAAJ");
}

static void upper_hex(struct sim_tx *t, uint64_t a, uint64_t b, int n)
{
    uint8_t x[16];
    for (int i = 0; i < 8; i++) {
        x[i] = (uint8_t)(a >> (8 * i));
        x[8 + i] = (uint8_t)(b >> (8 * i));
    }
    sim_tx_hex(t, x, (size_t)n, true);
}

/* Exchange Online message id: <SRV + 24 hex @ SRV.region.prod.outlook.com> */
static void exo_id(struct sim_tx *t, const char *srv, const char *region, uint64_t h)
{
    sim_tx_c(t, '<');
    sim_tx_s(t, srv);
    upper_hex(t, h, sim_mix(h, 1, 2), 12);
    sim_tx_c(t, '@');
    sim_tx_s(t, srv);
    sim_tx_c(t, '.');
    sim_tx_s(t, region);
    SIM_LIT(t, ".prod.outlook.com>");
}

void sim_tx_msgid(struct sim *S, struct sim_tx *t, uint64_t serial, sim_addr from)
{
    uint64_t h = sim_mix(S->o.seed ^ 0x4d736749ULL, serial, from);
    uint32_t idx = SIM_ADDR_IDX(from);
    switch (SIM_ADDR_KIND(from)) {
    case A_USER: {
        const struct sim_tenant *tn = &S->tenants[S->users[idx].tenant];
        exo_id(t, tn->srv[h % 4], tn->region, h);
        return;
    }
    case A_LIST: {
        const struct sim_list *l = &S->lists[idx];
        sim_tx_c(t, '<');
        uint8_t x[8];
        for (int i = 0; i < 8; i++) x[i] = (uint8_t)(h >> (8 * i));
        sim_tx_hex(t, x, 8, false);
        SIM_LIT(t, ".list@");
        sim_tx_s(t, l->host);
        sim_tx_c(t, '>');
        return;
    }
    case A_SCANNER:
        return; /* scanner mail has no Message-ID */
    default:
        break;
    }
    const struct sim_contact *c = &S->contacts[idx];
    const struct sim_partner *p = &S->partners[c->partner];
    const char *dom = strchr(c->addr, '@');
    dom = dom ? dom + 1 : p->dom[0];
    switch (p->style) {
    case MS_EXO: {
        char srv[16], reg[12];
        uint32_t k = c->partner;
        static const char *const pre[] = {"DB9PR0", "PH0PR1", "SN6PR0", "LO2P12", "FR3P28"};
        static const char *const rg[] = {"eurprd0", "namprd1", "namprd0", "gbrp12", "deup28"};
        const char *p0 = pre[k % 5];
        size_t n = strlen(p0);
        memcpy(srv, p0, n);
        srv[n] = (char)('1' + k % 9);
        memcpy(srv + n + 1, "MB", 2);
        srv[n + 3] = (char)('1' + (k / 9) % 9);
        srv[n + 4] = (char)('0' + (k / 81) % 10);
        srv[n + 5] = (char)('0' + (k * 7) % 10);
        srv[n + 6] = (char)('0' + (k * 3) % 10);
        srv[n + 7] = '\0';
        size_t m = strlen(rg[k % 5]);
        memcpy(reg, rg[k % 5], m);
        reg[m] = (char)('1' + k % 9);
        reg[m + 1] = '\0';
        exo_id(t, srv, reg, h);
        return;
    }
    case MS_GMAIL: {
        uint8_t x[30];
        uint64_t v = h;
        for (int i = 0; i < 30; i++) {
            if (i % 8 == 0) v = sim_mix(h, (uint64_t)i, 3);
            x[i] = (uint8_t)(v >> (8 * (i % 8)));
        }
        SIM_LIT(t, "<CA");
        sim_tx_b64url(t, x, 30);
        SIM_LIT(t, "@mail.gmail.com>");
        return;
    }
    case MS_YAHOO:
        sim_tx_c(t, '<');
        sim_tx_u64(t, 1000000000ULL + h % 900000000ULL);
        sim_tx_c(t, '.');
        sim_tx_u64(t, 100000 + (h >> 32) % 900000);
        sim_tx_c(t, '.');
        sim_tx_u64(t, 1709000000000ULL + (h >> 20) % 100000000ULL);
        SIM_LIT(t, "@mail.yahoo.com>");
        return;
    case MS_UUID: {
        uint8_t g[16];
        for (int i = 0; i < 8; i++) {
            g[i] = (uint8_t)(h >> (8 * i));
            g[8 + i] = (uint8_t)(sim_mix(h, 5, 5) >> (8 * i));
        }
        g[6] = (uint8_t)((g[6] & 0x0f) | 0x40);
        g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
        sim_tx_c(t, '<');
        sim_tx_guid(t, g);
        sim_tx_c(t, '@');
        sim_tx_s(t, dom);
        sim_tx_c(t, '>');
        return;
    }
    default: {
        uint8_t x[12];
        for (int i = 0; i < 12; i++)
            x[i] = (uint8_t)(sim_mix(h, 9, (uint64_t)i / 8) >> (8 * (i % 8)));
        sim_tx_c(t, '<');
        sim_tx_hex(t, x, 8, false);
        sim_tx_c(t, '.');
        sim_tx_hex(t, x + 8, 4, false);
        SIM_LIT(t, "@mail.");
        sim_tx_s(t, dom);
        sim_tx_c(t, '>');
        return;
    }
    }
}

void sim_tx_server(struct sim_tx *t, const struct sim_tenant *tn, uint64_t h)
{
    sim_tx_s(t, tn->srv[h % 4]);
    SIM_LIT(t, " (15.20.");
    sim_tx_u64(t, 7300 + (h >> 8) % 400);
    sim_tx_c(t, '.');
    sim_tx_u64w(t, (h >> 20) % 60, 3);
    sim_tx_c(t, ')');
}
