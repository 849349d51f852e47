/*
 * sim/secrets.c -- planted secrets that gitleaks rules recognise
 *
 * Pipeline: sim (mail.c plants the paragraph into a message body or a
 * text attachment; truth.c lists the secrets of exfiltrated messages).
 *
 * Each kind produces a random, seed-dependent value matching the regex of
 * one rule of gitleaks.toml (../shared/corpora/gitleaks/gitleaks/
 * gitleaks.toml, checked by tests/sim/test_truth.sh with Python `re`):
 *   aws-access-token        \b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b   entropy 3
 *   github-pat              ghp_[0-9a-zA-Z]{36}                                      entropy 3
 *   slack-bot-token         xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*              entropy 3
 *   azure-ad-client-secret  [a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34} (bounded)    entropy 3
 *   generic-api-key         ...passw(or)?d...=VALUE;  (a connection string)          entropy 3.5
 * Values are redrawn until their Shannon entropy (gitleaks' formula) clears
 * the rule's threshold by 0.3 bits. The generic password is drawn from
 * digits and the letters "QXZJKVWqxzjkvw" with no character three times in a
 * row: no stopword of the generic-api-key allowlist can occur in it (checked
 * against the 1,446 stopwords), and it always contains a digit (the global
 * allowlist drops letters-only values). The surrounding text never puts a
 * second gitleaks keyword next to an assignment, so each planted secret is
 * found by exactly the rule the truth names (gitleaks drops generic-api-key
 * findings that overlap a specific rule's finding).
 *
 * These are not credentials: every value is random.
 */
#include <math.h>
#include <string.h>

#include "sim/model.h"

const char *const sim_secret_rule[SK__N] = {
    "aws-access-token",       "github-pat",      "slack-bot-token",
    "azure-ad-client-secret", "generic-api-key",
};

static const double thresholds[SK__N] = {3.0, 3.0, 3.0, 3.0, 3.5};

double sim_entropy(const char *s, size_t n)
{
    if (!n) return 0;
    unsigned cnt[256] = {0};
    for (size_t i = 0; i < n; i++) cnt[(unsigned char)s[i]]++;
    double e = 0;
    for (int i = 0; i < 256; i++) {
        if (!cnt[i]) continue;
        double p = (double)cnt[i] / (double)n;
        e -= p * log2(p);
    }
    return e;
}

static void draw(struct sim_rng *r, char *o, size_t n, const char *alpha)
{
    size_t k = strlen(alpha);
    for (size_t i = 0; i < n; i++) {
        do {
            o[i] = alpha[sim_rng_below(r, k)];
        } while (i >= 2 && o[i] == o[i - 1] && o[i] == o[i - 2]);
    }
    o[n] = '\0';
}

static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void make_value(struct sim_rng *r, int kind, char *v)
{
    switch (kind) {
    case SK_AWS:
        memcpy(v, "AKIA", 4);
        draw(r, v + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        break;
    case SK_GITHUB:
        memcpy(v, "ghp_", 4);
        draw(r, v + 4, 36, ALNUM);
        break;
    case SK_SLACK: {
        memcpy(v, "xoxb-", 5);
        size_t k = 5;
        draw(r, v + k, 12, "0123456789");
        v[k] = (char)('1' + sim_rng_below(r, 9));
        k += 12;
        v[k++] = '-';
        draw(r, v + k, 13, "0123456789");
        v[k] = (char)('1' + sim_rng_below(r, 9));
        k += 13;
        v[k++] = '-';
        draw(r, v + k, 24, ALNUM);
        break;
    }
    case SK_AZURE: {
        draw(r, v, 3, ALNUM);
        v[3] = (char)('0' + sim_rng_below(r, 10));
        v[4] = 'Q';
        v[5] = '~';
        draw(r, v + 6, 34, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_~.-");
        /* the rule's closing boundary cannot follow '-' or '.' ambiguity: end alnum */
        v[39] = ALNUM[sim_rng_below(r, 62)];
        break;
    }
    default: {
        size_t n = 16 + (size_t)sim_rng_below(r, 5);
        draw(r, v, n, "0123456789QXZJKVWqxzjkvw");
        if (!strpbrk(v, "0123456789")) v[sim_rng_below(r, n)] = (char)('2' + sim_rng_below(r, 8));
        break;
    }
    }
}

void sim_secret_text(struct sim_rng *r, int kind, const char *ctx, struct sim_tx *t, char *secret)
{
    for (int tries = 0; tries < 64; tries++) {
        make_value(r, kind, secret);
        if (sim_entropy(secret, strlen(secret)) > thresholds[kind] + 0.3) break;
    }
    switch (kind) {
    case SK_AWS:
        SIM_LIT(t, "Here is what you need for the ");
        sim_tx_s(t, ctx);
        SIM_LIT(t, " upload bucket:\n\naws_access_key_id = ");
        sim_tx_s(t, secret);
        SIM_LIT(t, "\nregion = eu-west-1\n\nThe other half is in the vault as usual.");
        break;
    case SK_GITHUB:
        SIM_LIT(t, "The CI job for ");
        sim_tx_s(t, ctx);
        SIM_LIT(t, " needs this until the app installation is approved: ");
        sim_tx_s(t, secret);
        SIM_LIT(t, "\nPlease delete this message after you have stored it.");
        break;
    case SK_SLACK:
        SIM_LIT(t, "Bot for the #alerts channel (");
        sim_tx_s(t, ctx);
        SIM_LIT(t, "), paste this into the webhook settings:\n\n");
        sim_tx_s(t, secret);
        SIM_LIT(t, "\n");
        break;
    case SK_AZURE:
        SIM_LIT(t, "Client secret for the ");
        sim_tx_s(t, ctx);
        SIM_LIT(t, " app registration (expires in 24 months):\n\n    ");
        sim_tx_s(t, secret);
        SIM_LIT(t, "\n\nIt replaces the one that expired last week.");
        break;
    default:
        SIM_LIT(t, "Connection string for the ");
        sim_tx_s(t, ctx);
        SIM_LIT(t, " reporting database:\n\nServer=tcp:sql-prod-");
        sim_tx_u64(t, 10 + sim_rng_below(r, 90));
        SIM_LIT(t, ".database.windows.net,1433;Database=reporting;User ID=svc_reports;Password=");
        sim_tx_s(t, secret);
        SIM_LIT(t, ";Encrypt=True;\n");
        break;
    }
}
