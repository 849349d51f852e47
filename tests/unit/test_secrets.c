/*
 * tests/unit/test_secrets.c -- the secret scanner (src/secrets/scan.c)
 *
 * Table-driven gitleaks semantics: each case is a rule file, a fragment and
 * the findings expected ("rule line secret", one per line, in order).
 * Then: the fast path (Hyperscan candidates) against the reference path
 * (PCRE2 for every keyword-gated rule) on the same inputs; the shipped
 * default rules against a sample of every kind they cover; gitleaks.toml
 * compiled (222 rules) when ../shared is present; allocation failures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "mh_test.h"
#include "mh_testfs.h"
#include "secrets/scan.h"

struct out {
    struct mh_buf b;
};

static mh_status collect(void *ctx, const struct mh_secret_finding *f, const char *text)
{
    struct out *o = ctx;
    if (f->path_only) return mh_buf_printf(&o->b, "%s path\n", f->rule->id);
    return mh_buf_printf(&o->b, "%s %u %.*s\n", f->rule->id, (unsigned)f->line,
                         (int)(f->secret_end - f->secret_start), text + f->secret_start);
}

/* Findings of text under rules, as "rule line secret\n" lines. */
static char *scan(const char *rules, const char *path, const char *text, unsigned flags)
{
    struct mh_gl_config *c = NULL;
    struct mh_secrets_engine *e = NULL;
    struct mh_secrets_scratch *s = NULL;
    mh_error err;
    mh_error_clear(&err);
    char *res = NULL;
    struct out o;
    mh_buf_init(&o.b, 1u << 24);
    if (mh_gl_load_mem(rules, strlen(rules), "t.toml", NULL, &c, &err)) {
        if (err.code == MH_ENOMEM) goto out;
        char m[512];
        mh_error_format(&err, m, sizeof m);
        fprintf(stderr, "load: %s\n", m);
        goto out;
    }
    if (mh_secrets_compile(c, flags, &e, NULL, &err) || mh_secrets_scratch_new(e, &s)) goto out;
    if (mh_secrets_scan(e, s, path, text, text ? strlen(text) : 0, collect, &o, NULL)) goto out;
    res = mh_strndup(o.b.data ? o.b.data : "", o.b.len);
out:
    mh_buf_fini(&o.b);
    mh_secrets_scratch_free(s);
    mh_secrets_engine_free(e);
    mh_gl_free(c);
    return res;
}

struct scase {
    const char *name, *rules, *path, *text, *want;
};

#define R(id, re, extra) "[[rules]]\nid = '" id "'\nregex = '''" re "'''\n" extra

static const struct scase CASES[] = {
    {"whole match without groups", R("k", "AKIA[A-Z0-9]{16}", ""), NULL,
     "x\nid=AKIAABCDEFGHIJKLMNOP\n", "k 2 AKIAABCDEFGHIJKLMNOP\n"},
    {"first non-empty group", R("k", "(?:(x)|y)=([a-z0-9]{8})", ""), NULL, "y=abcd1234",
     "k 1 abcd1234\n"},
    {"secretGroup", R("k", "(tok)=([a-z0-9]{8})", "secretGroup = 2\n"), NULL, "tok=abcd1234",
     "k 1 abcd1234\n"},
    {"non-overlapping, leftmost-first", R("k", "ab|abcd", ""), NULL, "abcd abcd",
     "k 1 ab\nk 1 ab\n"},
    {"match trimmed of newlines", R("k", "\\n?secret-[0-9]+\\n?", ""), NULL, "a\nsecret-42\nb",
     "k 2 secret-42\n"},
    {"entropy <= threshold dropped", R("k", "tok=([a-z]+)", "entropy = 2.0\n"), NULL,
     "tok=aaaa tok=abcd tok=abcdefgh", "k 1 abcdefgh\n"},
    {"keyword gate: absent", R("sg", "\\b[0-9a-f]{40}\\b", "keywords = ['sgp_']\n"), NULL,
     "sha 356a192b7913b04c54574d18c28d46e6395428ab", ""},
    {"keyword gate: present, any case", R("sg", "\\b[0-9a-f]{40}\\b", "keywords = ['SGP_']\n"),
     NULL, "SGP_ token 356a192b7913b04c54574d18c28d46e6395428ab",
     "sg 1 356a192b7913b04c54574d18c28d46e6395428ab\n"},
    {"gitleaks:allow on the line", R("k", "tok=[a-z0-9]{6}", ""), NULL,
     "tok=abc123 # gitleaks:allow\ntok=def456", "k 2 tok=def456\n"},
    {"rule allowlist regex on the secret",
     R("k", "tok=([a-z0-9]{6})", "[[rules.allowlists]]\nregexes = ['^abc']\n"), NULL,
     "tok=abc123 tok=def456", "k 1 def456\n"},
    {"regexTarget match",
     R("k", "tok=([a-z0-9]{6})",
       "[[rules.allowlists]]\nregexTarget = 'match'\nregexes = ['^tok=d']\n"),
     NULL, "tok=abc123 tok=def456", "k 1 abc123\n"},
    {"regexTarget line",
     R("k", "tok=([a-z0-9]{6})",
       "[[rules.allowlists]]\nregexTarget = 'line'\nregexes = ['TESTDATA']\n"),
     NULL, "tok=abc123 TESTDATA\ntok=def456", "k 2 def456\n"},
    {"stopwords, case-insensitive",
     R("k", "tok=([a-z0-9]{6})", "[[rules.allowlists]]\nstopwords = ['C12']\n"), NULL,
     "tok=abc123 tok=def456", "k 1 def456\n"},
    {"AND: regex and stopword both needed",
     R("k", "tok=([a-z0-9]{6})",
       "[[rules.allowlists]]\ncondition = 'AND'\nregexes = ['^a']\nstopwords = ['c1']\n"),
     NULL, "tok=abc123 tok=abz999 tok=xbc123", "k 1 abz999\nk 1 xbc123\n"},
    {"AND with commits never applies to mail",
     R("k", "tok=([a-z0-9]{6})",
       "[[rules.allowlists]]\ncondition = 'AND'\ncommits = ['abc']\nregexes = ['.']\n"),
     NULL, "tok=abc123", "k 1 abc123\n"},
    {"global allowlist path skips the fragment",
     R("k", "tok=[a-z0-9]{6}", "") "[[allowlists]]\npaths = ['(?:^|/)skip/']\n", "mb/skip/1",
     "tok=abc123", ""},
    {"global allowlist path elsewhere",
     R("k", "tok=[a-z0-9]{6}", "") "[[allowlists]]\npaths = ['(?:^|/)skip/']\n", "mb/keep/1",
     "tok=abc123", "k 1 tok=abc123\n"},
    {"rule path must match", R("k", "tok=[a-z0-9]{6}", "path = '''\\.env$'''\n"), "a/b/.env",
     "tok=abc123", "k 1 tok=abc123\n"},
    {"rule path mismatch", R("k", "tok=[a-z0-9]{6}", "path = '''\\.env$'''\n"), "a/b/1",
     "tok=abc123", ""},
    {"path-only rule on a binary attachment",
     "[[rules]]\nid = 'p12'\npath = '''(?i)(?:^|/)[^/]+\\.p(?:12|fx)$'''\n",
     "mb/INBOX/m/2/cert.P12", NULL, "p12 path\n"},
    {"generic filtered by a specific finding on the line",
     R("generic-api-key", "key=([a-zA-Z0-9_]{10,})", "") R("github-pat", "ghp_[a-zA-Z0-9]{10}", ""),
     NULL, "key=ghp_abcdefghij\nkey=zzzzzzzzzzzz",
     "github-pat 1 ghp_abcdefghij\ngeneric-api-key 2 zzzzzzzzzzzz\n"},
    {"required rule within lines",
     R("id", "client_id=([a-z0-9]{8})", "skipReport = true\n")
         R("secret", "client_secret=([a-z0-9]{8})",
           "[[rules.required]]\nid = 'id'\nwithinLines = 1\n"),
     NULL, "client_id=aaaa1111\nclient_secret=bbbb2222\n\n\nclient_secret=cccc3333",
     "secret 2 bbbb2222\n"},
    {"characters, not bytes: . and bounded repeats (non-ASCII between)",
     R("k", "key:.{0,3}=([a-z]{6})", ""), NULL, "key:\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac=abcdef",
     "k 1 abcdef\n"},
    {"characters, not bytes: too many characters", R("k", "key:.{0,3}=([a-z]{6})", ""), NULL,
     "key:\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac=abcdef", ""},
    {"pattern naming a non-ASCII character", R("k", "caf\\x{e9}=([0-9]{4})", ""), NULL,
     "x caf\xc3\xa9=1234", "k 1 1234\n"},
    {"invalid UTF-8 in the fragment does not break matching", R("k", "tok=[a-z0-9]{6}", ""), NULL,
     "\xff\xfe tok=abc123 \xc3", "k 1 tok=abc123\n"},
    {"empty fragment", R("k", "x", ""), NULL, "", ""},
};

static void t_cases(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        for (unsigned ref = 0; ref < 2; ref++) {
            char *got =
                scan(CASES[i].rules, CASES[i].path, CASES[i].text, ref ? MH_SECRETS_REFERENCE : 0);
            if (!got || strcmp(got, CASES[i].want))
                fprintf(stderr, "case '%s'%s: got:\n%s", CASES[i].name, ref ? " (reference)" : "",
                        got ? got : "(error)\n");
            CHECK_STREQ(got, CASES[i].want);
            mh_free(got);
        }
    }
}

static void t_entropy(void)
{
    CHECK(mh_secrets_entropy("", 0) == 0);
    CHECK(mh_secrets_entropy("aaaa", 4) == 0);
    CHECK(fabs(mh_secrets_entropy("ab", 2) - 1.0) < 1e-12);
    CHECK(fabs(mh_secrets_entropy("abcd", 4) - 2.0) < 1e-12);
    /* gitleaks' quirk: runes counted, divided by bytes: one 2-byte rune -> 0.5 */
    CHECK(fabs(mh_secrets_entropy("\xc3\xa9", 2) - 0.5) < 1e-12);
    /* an invalid byte is one U+FFFD rune each, as in Go */
    CHECK(fabs(mh_secrets_entropy("\xff\xfe", 2) - 0.0) < 1e-12);
}

/* One sample per shipped rule: the rule must find exactly its sample. */
struct sample {
    const char *rule, *text, *secret;
};

static const struct sample SAMPLES[] = {
    {"aws-access-key-id", "id AKIAZ7QJ4K2M5N6P3R2S ok", "AKIAZ7QJ4K2M5N6P3R2S"},
    {"aws-secret-access-key", "aws_secret_access_key = 9dK3/xq+Zr81LmW2pQ7vT0aB4cE6fG5hJ1kN8sUy\n",
     "9dK3/xq+Zr81LmW2pQ7vT0aB4cE6fG5hJ1kN8sUy"},
    {"gcp-api-key", "maps key AIzaSyD3kL9mQ2vX7pT4rW1zB8nC5hF6jK0gE2s done",
     "AIzaSyD3kL9mQ2vX7pT4rW1zB8nC5hF6jK0gE2s"},
    {"gcp-service-account", "{\"type\": \"service_account\", \"project_id\": \"p\"}",
     "\"type\": \"service_account\""},
    {"azure-storage-connection-string",
     "DefaultEndpointsProtocol=https;AccountName=st0r4ge;AccountKey="
     "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw==;",
     "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw=="},
    {"azure-sas-token",
     "https://a.blob.core.windows.net/"
     "c?sv=2022-11-02&sig=q8Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aE%2BuK8iO3%3D",
     "q8Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aE%2BuK8iO3%3D"},
    {"azure-ad-client-secret", "secret: abc8Q~Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK ok",
     "abc8Q~Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK"},
    {"digitalocean-token",
     "dop_v1_3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a token",
     "dop_v1_3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"},
    {"github-token", "use ghs_Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3 now",
     "ghs_Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3"},
    {"github-fine-grained-token",
     "github_pat_11ABCDEFG0Zr3kLm9PwX2v_"
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3g here",
     "github_pat_11ABCDEFG0Zr3kLm9PwX2v_"
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3g"},
    {"gitlab-token", "glpat-Zr3kLm9PwX2vT7yB4nC6 in ci", "glpat-Zr3kLm9PwX2vT7yB4nC6"},
    {"npm-token", "//registry.npmjs.org/:_authToken=npm_Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO\n",
     "npm_Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO"},
    {"pypi-token",
     "upload with "
     "pypi-AgEIcHlwaS5vcmcZr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7",
     "pypi-AgEIcHlwaS5vcmcZr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7"},
    {"slack-token", "xoxp-1234567890-2345678901-Zr3kLm9PwX2vT7yB4nC6hJ1s ok",
     "xoxp-1234567890-2345678901-Zr3kLm9PwX2vT7yB4nC6hJ1s"},
    {"slack-webhook",
     "https://hooks.slack.com/services/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",
     "T0ABC1234/B0DEF5678/Zr3kLm9PwX2vT7yB4nC6hJ1s"},
    {"teams-webhook",
     "https://contoso.webhook.office.com/webhookb2/"
     "3f9a1c7e-5b2d-4f8a-a6c0-e9b1d3f5a7c9@0e1d2c3b-4a59-"
     "6877-8695-a4b3c2d1e0f9/IncomingWebhook/0123456789abcdef0123456789abcdef/"
     "aa11bb22-cc33-dd44-ee55-ff6677889900",
     "3f9a1c7e-5b2d-4f8a-a6c0-e9b1d3f5a7c9@0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9/IncomingWebhook/"
     "0123456789abcdef0123456789abcdef/aa11bb22-cc33-dd44-ee55-ff6677889900"},
    {"discord-webhook",
     "https://discord.com/api/webhooks/123456789012345678/"
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7l",
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7l"},
    {"telegram-bot-token", "bot 123456789:AAZr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK ok",
     "123456789:AAZr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK"},
    {"stripe-key", "sk_live_Zr3kLm9PwX2vT7yB4nC6hJ1s", "sk_live_Zr3kLm9PwX2vT7yB4nC6hJ1s"},
    {"twilio-api-key", "twilio SK3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e here",
     "SK3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e"},
    {"sendgrid-api-key", "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 ",
     "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"},
    {"mailgun-api-key", "mailgun key-3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e",
     "key-3f9a1c7e5b2d8f4a6c0e9b1d3f5a7c9e"},
    {"openai-api-key", "sk-proj-Zr3kLm9PwX2vT7yB4nC6T3BlbkFJhJ1sD5fG0aEuK8iO3qW2e",
     "sk-proj-Zr3kLm9PwX2vT7yB4nC6T3BlbkFJhJ1sD5fG0aEuK8iO3qW2e"},
    {"anthropic-api-key",
     "sk-ant-api03-"
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7lZ9xC2vB4nM6qA8wS0dE2r",
     "sk-ant-api03-"
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2eR4tY6uI8oP0aS1dF3gH5jK7lZ9xC2vB4nM6qA8wS0dE2r"},
    {"okta-api-token", "okta_api_token: 00Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2\n",
     "00Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG0aEuK8iO3qW2"},
    {"private-key",
     "-----BEGIN OPENSSH PRIVATE "
     "KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz\n"
     "-----END OPENSSH PRIVATE KEY-----",
     "-----BEGIN OPENSSH PRIVATE "
     "KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz\n"
     "-----END OPENSSH PRIVATE KEY-----"},
    {"jwt", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.Zr3kLm9PwX2vT7yB4nC6hJ1s",
     "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.Zr3kLm9PwX2vT7yB4nC6hJ1s"},
    {"http-basic-auth-header", "Authorization: Basic YWxpY2U6UzNjcjN0UGFzcw==\n",
     "YWxpY2U6UzNjcjN0UGFzcw=="},
    {"http-bearer-token", "Authorization: Bearer Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG\n",
     "Zr3kLm9PwX2vT7yB4nC6hJ1sD5fG"},
    {"url-credentials", "amqp://svc:Qz8kLw2mXr@broker.internal:5672/", "Qz8kLw2mXr"},
    {"connection-string-password", "Server=db;Uid=app;Pwd=Qz8kLw2mXr7;", "Qz8kLw2mXr7"},
    {"generic-password", "your password is Qz8kLw2mXr7!\n", "Qz8kLw2mXr7!"},
    {"generic-api-key", "client_secret: Qz8kLw2mXr7vB3nT9pYs\n", "Qz8kLw2mXr7vB3nT9pYs"},
};

/* Near misses that must give nothing. */
static const char *const MISSES[] = {
    "AKIAIOSFODNN7EXAMPLE is AWS's documentation key",
    "my password is reset",
    "password: ********",
    "postgres://user:password@localhost/db",
    "sha1 356a192b7913b04c54574d18c28d46e6395428ab",
    "ghp_short",
    "Content-Transfer-Encoding: base64\nQUtJQVo3UUo0SzJNNU42UDNSMlM=",
    "key=3D96589521021112141index=3D=",
    "------=_NextPart_84815C5ABAF209EF376268C8",
};

static void t_default_rules(void)
{
    char *rules = slurp("rules/secrets/default.toml", NULL);
    CHECK(rules != NULL);
    if (!rules) return;
    struct mh_gl_config *c = NULL;
    struct mh_secrets_engine *e = NULL;
    struct mh_secrets_scratch *sc = NULL;
    mh_error err;
    CHECK_INT(mh_gl_load_mem(rules, strlen(rules), "default.toml", NULL, &c, &err), MH_OK);
    if (c) CHECK_INT(mh_secrets_compile(c, 0, &e, NULL, &err), MH_OK);
    if (e) CHECK_INT(mh_secrets_scratch_new(e, &sc), MH_OK);
    struct out o;
    mh_buf_init(&o.b, 1u << 20);
    for (size_t i = 0; sc && i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        char want[1024];
        snprintf(want, sizeof want, "%s 1 %s\n", SAMPLES[i].rule, SAMPLES[i].secret);
        mh_buf_clear(&o.b);
        CHECK_INT(mh_secrets_scan(e, sc, NULL, SAMPLES[i].text, strlen(SAMPLES[i].text), collect,
                                  &o, NULL),
                  MH_OK);
        if (strcmp(o.b.data ? o.b.data : "", want))
            fprintf(stderr, "sample %s: got %s", SAMPLES[i].rule, o.b.data ? o.b.data : "\n");
        CHECK_MEM(o.b.data ? o.b.data : "", o.b.len, want);
    }
    for (size_t i = 0; sc && i < sizeof MISSES / sizeof MISSES[0]; i++) {
        mh_buf_clear(&o.b);
        CHECK_INT(mh_secrets_scan(e, sc, NULL, MISSES[i], strlen(MISSES[i]), collect, &o, NULL),
                  MH_OK);
        if (o.b.len) fprintf(stderr, "miss '%s': got %s", MISSES[i], o.b.data);
        CHECK_INT(o.b.len, 0);
    }
    /* every shipped rule has a sample */
    for (size_t i = 0; c && i < c->nrules; i++) {
        bool have = false;
        for (size_t k = 0; k < sizeof SAMPLES / sizeof SAMPLES[0] && !have; k++)
            have = !strcmp(SAMPLES[k].rule, c->rules[i]->id);
        if (!have) fprintf(stderr, "no sample for %s\n", c->rules[i]->id);
        CHECK(have);
    }
    mh_buf_fini(&o.b);
    mh_secrets_scratch_free(sc);
    mh_secrets_engine_free(e);
    mh_gl_free(c);
    mh_free(rules);
}

/* Fast path == reference path on many fragments, for a rule set. */
static void differential(const char *rules, const char *const *texts, size_t n)
{
    struct mh_gl_config *c = NULL;
    struct mh_secrets_engine *fast = NULL, *ref = NULL;
    struct mh_secrets_scratch *sf = NULL, *sr = NULL;
    mh_error err;
    CHECK_INT(mh_gl_load_mem(rules, strlen(rules), "d.toml", NULL, &c, &err), MH_OK);
    if (!c) return;
    CHECK_INT(mh_secrets_compile(c, 0, &fast, NULL, &err), MH_OK);
    CHECK_INT(mh_secrets_compile(c, MH_SECRETS_REFERENCE, &ref, NULL, &err), MH_OK);
    if (fast && ref) {
        CHECK_INT(mh_secrets_scratch_new(fast, &sf), MH_OK);
        CHECK_INT(mh_secrets_scratch_new(ref, &sr), MH_OK);
    }
    struct out a, b;
    mh_buf_init(&a.b, 1u << 26);
    mh_buf_init(&b.b, 1u << 26);
    size_t findings = 0;
    for (size_t i = 0; sf && sr && i < n; i++) {
        mh_buf_clear(&a.b);
        mh_buf_clear(&b.b);
        size_t len = strlen(texts[i]);
        CHECK_INT(mh_secrets_scan(fast, sf, "p", texts[i], len, collect, &a, NULL), MH_OK);
        CHECK_INT(mh_secrets_scan(ref, sr, "p", texts[i], len, collect, &b, NULL), MH_OK);
        CHECK(a.b.len == b.b.len && (!a.b.len || !memcmp(a.b.data, b.b.data, a.b.len)));
        for (size_t k = 0; k < a.b.len; k++) findings += a.b.data[k] == '\n';
    }
    printf("differential: %zu fragments, %zu findings, fast == reference\n", n, findings);
    mh_buf_fini(&a.b);
    mh_buf_fini(&b.b);
    mh_secrets_scratch_free(sf);
    mh_secrets_scratch_free(sr);
    mh_secrets_engine_free(fast);
    mh_secrets_engine_free(ref);
    mh_gl_free(c);
}

static void t_differential(void)
{
    /* fragments: every sample and near miss, each with non-ASCII noise around
     * it, and the fixture's plain text */
    const char *texts[256];
    size_t n = 0;
    char *owned[128];
    size_t nown = 0;
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0] && n + 2 < 256; i++) {
        texts[n++] = SAMPLES[i].text;
        char *t = mh_malloc(strlen(SAMPLES[i].text) + 64);
        if (!t) continue;
        snprintf(t, strlen(SAMPLES[i].text) + 64, "\xc2\xa0\xe2\x82\xac %s \xf0\x9f\x94\x91",
                 SAMPLES[i].text);
        texts[n++] = owned[nown++] = t;
    }
    for (size_t i = 0; i < sizeof MISSES / sizeof MISSES[0]; i++) texts[n++] = MISSES[i];
    char *notes = slurp("tests/data/mail/store/notes.txt", NULL);
    if (notes) texts[n++] = notes;
    char *rules = slurp("rules/secrets/default.toml", NULL);
    if (rules) differential(rules, texts, n);
    char *gl = slurp("../shared/corpora/gitleaks/gitleaks/gitleaks.toml", NULL);
    if (gl)
        differential(gl, texts, n);
    else
        printf("skipped: gitleaks.toml absent (differential on the default rules only)\n");
    mh_free(gl);
    mh_free(rules);
    mh_free(notes);
    for (size_t i = 0; i < nown; i++) mh_free(owned[i]);
}

static void t_gitleaks_compile(void)
{
    struct mh_gl_config *c = NULL;
    mh_error err;
    if (mh_gl_load_file("../shared/corpora/gitleaks/gitleaks/gitleaks.toml", NULL, &c, &err)) {
        printf("skipped: gitleaks.toml absent\n");
        return;
    }
    struct mh_secrets_engine *e = NULL;
    struct mh_secrets_compile_stats cs;
    CHECK_INT(mh_secrets_compile(c, 0, &e, &cs, &err), MH_OK);
    CHECK_INT(cs.rules, 222);
    CHECK_INT(cs.regex_rules, 221);
    CHECK_INT(cs.path_only, 1);
    CHECK_INT(cs.hs_exact + cs.hs_prefilter + cs.pcre_only, 221);
    printf(
        "gitleaks.toml: %zu rules, %zu regexes: %zu exact in Hyperscan, %zu prefilter, %zu PCRE2 "
        "only; %zu keywords\n",
        cs.rules, cs.regex_rules, cs.hs_exact, cs.hs_prefilter, cs.pcre_only, cs.keywords);
    mh_secrets_engine_free(e);
    mh_gl_free(c);
}

static void t_alloc_fail(void)
{
    const char *rules = R("k", "tok=([a-z0-9]{6})",
                          "keywords = ['tok']\nentropy = 1\n"
                          "[[rules.allowlists]]\nstopwords = ['zz']\n");
    int ok = 0;
    for (int64_t n = 0; n < 160; n++) {
        mh_alloc_fail_after(n);
        char *got = scan(rules, "p", "a tok=abc123 b\ntok=zz0000", 0);
        mh_alloc_fail_after(-1);
        if (got) {
            ok++;
            CHECK_STREQ(got, "k 1 abc123\n");
        }
        mh_free(got);
    }
    CHECK(ok > 0);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"cases", t_cases},
        {"entropy", t_entropy},
        {"default_rules", t_default_rules},
        {"differential", t_differential},
        {"gitleaks_compile", t_gitleaks_compile},
        {"alloc_fail", t_alloc_fail},
    };
    return MH_TEST_RUN(T);
}
