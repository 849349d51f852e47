/*
 * tests/unit/test_org.c -- notify/org.c + psl.c: organisation keys
 *
 * A table of addresses -> (kind, key, normalised address): registrable
 * domains (subdomains, co.uk / com.au suffixes), free-mail individuals from
 * the shipped list (exact and "yahoo.*" entries, ISP subdomains), internal
 * exclusions (every subdomain, label-aligned), overrides (multi-domain, +1
 * institutional trees, freemail, beating the free-mail list), legacy DNs
 * (X.500, EX:, IMCEAEX with +XX escapes; mapped or unresolved, never
 * guessed), invalid addresses with their reasons; tenant.json partners;
 * mailing lists; file errors with line numbers; and concurrent
 * classification from several threads.
 */
#include <pthread.h>
#include <stdlib.h>

#include "mh_test.h"
#include "notify/org.h"
#include "notify/psl.h"

#define DATA MH_DATA_DIR "/tests/data/notify/"

struct row {
    const char *in;
    enum mh_org_kind kind;
    const char *key;     /* NULL: empty */
    const char *address; /* NULL: not checked */
};

static const struct row table[] = {
    /* registrable domains */
    {"j.doe@mail.utexas.edu", MH_ORG_DOMAIN, "utexas.edu", "j.doe@mail.utexas.edu"},
    {"student@haas.berkeley.edu", MH_ORG_DOMAIN, "berkeley.edu", NULL},
    {"x@us.ibm.com", MH_ORG_DOMAIN, "ibm.com", NULL},
    {"A.B@News.BBC.CO.UK", MH_ORG_DOMAIN, "bbc.co.uk", "A.B@news.bbc.co.uk"},
    {"ops@dept.example.com.au", MH_ORG_DOMAIN, "example.com.au", NULL},
    {"<Bob@Example.ORG>", MH_ORG_DOMAIN, "example.org", "Bob@example.org"},
    {"  mailto:bob@example.org ", MH_ORG_DOMAIN, "example.org", "bob@example.org"},
    {"bob@example.org.", MH_ORG_DOMAIN, "example.org", "bob@example.org"},
    {"k..allen@kpmg.com", MH_ORG_DOMAIN, "kpmg.com", "k..allen@kpmg.com"},
    {"\"john doe\"@example.net", MH_ORG_DOMAIN, "example.net", NULL},
    {"x@xn--mnchen-3ya.de", MH_ORG_DOMAIN, "xn--mnchen-3ya.de", NULL},
    {"x@b\xc3\xbc" "cher.example.com", MH_ORG_DOMAIN, "example.com", NULL},
    {"b@mail.yahoo-inc.com", MH_ORG_DOMAIN, "yahoo-inc.com", NULL},
    {"x@notcontoso.com", MH_ORG_DOMAIN, "notcontoso.com", NULL},
    {"a@users.sourceforge.net", MH_ORG_DOMAIN, "sourceforge.net", NULL},
    /* free-mail individuals: key = the whole address, lower-cased */
    {"Pat.Smith@Yahoo.CO.UK", MH_ORG_FREEMAIL, "pat.smith@yahoo.co.uk", "Pat.Smith@yahoo.co.uk"},
    {"someone@yahoo.com.au", MH_ORG_FREEMAIL, "someone@yahoo.com.au", NULL},
    {"jdoe@gmail.com", MH_ORG_FREEMAIL, "jdoe@gmail.com", NULL},
    {"JDoe+Tag@GoogleMail.com", MH_ORG_FREEMAIL, "jdoe+tag@googlemail.com", "JDoe+Tag@googlemail.com"},
    {"y@houston.rr.com", MH_ORG_FREEMAIL, "y@houston.rr.com", NULL},
    {"w@hotmail.fr", MH_ORG_FREEMAIL, "w@hotmail.fr", NULL},
    {"v@gmx.de", MH_ORG_FREEMAIL, "v@gmx.de", NULL},
    {"u@aol.com", MH_ORG_FREEMAIL, "u@aol.com", NULL},
    {"list@lists.sourceforge.net", MH_ORG_FREEMAIL, "list@lists.sourceforge.net", NULL},
    /* internal: the domain and every subdomain, label-aligned */
    {"ceo@contoso.com", MH_ORG_INTERNAL, "contoso.com", NULL},
    {"it@eu.mail.CONTOSO.com", MH_ORG_INTERNAL, "contoso.com", NULL},
    {"k..allen@enron.com", MH_ORG_INTERNAL, "enron.com", NULL},
    /* overrides */
    {"x@reliantenergy.com", MH_ORG_OVERRIDE, "reliant.com", NULL},
    {"x@hou.reliantenergy.com", MH_ORG_OVERRIDE, "reliant.com", NULL},
    {"y@reliant.com", MH_ORG_OVERRIDE, "reliant.com", NULL},
    {"x@dot.ca.gov", MH_ORG_OVERRIDE, "dot.ca.gov", NULL},
    {"x@a.b.water.ca.gov", MH_ORG_OVERRIDE, "water.ca.gov", NULL},
    {"x@ca.gov", MH_ORG_OVERRIDE, "ca.gov", NULL},
    {"x@co.harris.state.tx.us", MH_ORG_OVERRIDE, "harris.state.tx.us", NULL},
    {"Ann@Example-Mail.net", MH_ORG_FREEMAIL, "ann@example-mail.net", NULL},
    {"z@gmx.net", MH_ORG_OVERRIDE, "gmx.net", NULL}, /* override beats the free-mail list */
    /* legacy DNs: resolved only through the mapping */
    {"/O=KPMG/OU=US/CN=RECIPIENTS/CN=JSMITH", MH_ORG_DOMAIN, "kpmg.com", "jsmith@kpmg.com"},
    {"</o=kpmg/ou=us/cn=recipients/cn=jsmith>", MH_ORG_DOMAIN, "kpmg.com", "jsmith@kpmg.com"},
    {"EX:/O=KPMG/OU=US/CN=RECIPIENTS/CN=JSMITH", MH_ORG_DOMAIN, "kpmg.com", NULL},
    {"IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=PALLEN@enron.com", MH_ORG_INTERNAL, "enron.com",
     "Phillip.Allen@enron.com"},
    {"IMCEAEX-_O=X+20Y_CN=Z@x.com", MH_ORG_DOMAIN, "example.com", "zed@partner.example.com"},
    {"IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=NOBODY@enron.com", MH_ORG_UNRESOLVED, NULL, NULL},
    {"/O=ENRON/OU=NA/CN=RECIPIENTS/CN=NOBODY", MH_ORG_UNRESOLVED, NULL, NULL},
    {"IMCEAEX-_O=BAD+2@x.com", MH_ORG_UNRESOLVED, NULL, NULL},
    {"/O=LOOP/CN=A", MH_ORG_UNRESOLVED, NULL, NULL},
    /* invalid */
    {"", MH_ORG_INVALID, NULL, NULL},
    {"   ", MH_ORG_INVALID, NULL, NULL},
    {"no-at-sign", MH_ORG_INVALID, NULL, NULL},
    {"@example.com", MH_ORG_INVALID, NULL, NULL},
    {"a@", MH_ORG_INVALID, NULL, NULL},
    {"a b@example.com", MH_ORG_INVALID, NULL, NULL},
    {"a@[192.168.0.1]", MH_ORG_INVALID, NULL, NULL},
    {"a@exa mple.com", MH_ORG_INVALID, NULL, NULL},
    {"a@example..com", MH_ORG_INVALID, NULL, NULL},
    {"a@com", MH_ORG_INVALID, NULL, NULL},
    {"a@co.uk", MH_ORG_INVALID, NULL, NULL},
    {"pallen@ect", MH_ORG_INVALID, NULL, NULL},
    {"Phillip K Allen/HOU/ECT@ECT", MH_ORG_INVALID, NULL, NULL},
    {"a\x01@example.com", MH_ORG_INVALID, NULL, NULL},
};

static mh_orgs *orgs;

static int build(void)
{
    mh_error err;
    char msg[512];
    if (mh_orgs_new(&orgs, &err) != MH_OK) return 0;
    mh_status st = mh_orgs_load_default_freemail(orgs, &err);
    if (!st) st = mh_orgs_add_internal(orgs, "contoso.com", 11, &err);
    if (!st) st = mh_orgs_add_internal(orgs, " .enron.com ", 12, &err);
    if (!st) st = mh_orgs_load_overrides(orgs, DATA "overrides.txt", &err);
    if (!st) st = mh_orgs_load_dn_map(orgs, DATA "dnmap.txt", &err);
    if (st) {
        mh_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "build: %s\n", msg);
        return 0;
    }
    return 1;
}

static int check_row(const struct row *r, int verbose)
{
    struct mh_org o;
    mh_error err;
    mh_status st = mh_orgs_classify(orgs, r->in, strlen(r->in), &o, &err);
    int ok = st == MH_OK && o.kind == r->kind && !strcmp(o.key, r->key ? r->key : "") &&
             (!r->address || !strcmp(o.address, r->address)) &&
             ((o.kind == MH_ORG_INVALID || o.kind == MH_ORG_UNRESOLVED) == (o.reason != NULL));
    if (!ok && verbose)
        fprintf(stderr, "  %-50s -> %s key=\"%s\" address=\"%s\" reason=%s (want %s \"%s\")\n", r->in,
                mh_org_kind_str(o.kind), o.key, o.address, o.reason ? o.reason : "-",
                mh_org_kind_str(r->kind), r->key ? r->key : "");
    return ok;
}

static void t_table(void)
{
    CHECK(orgs != NULL);
    if (!orgs) return;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) CHECK(check_row(&table[i], 1));
    /* names and DN provenance */
    struct mh_org o;
    CHECK_INT(mh_orgs_classify(orgs, "x@reliantenergy.com", 19, &o, NULL), MH_OK);
    CHECK_STREQ(o.name, "Reliant Energy");
    CHECK(!o.via_dn);
    const char *dn = "/O=KPMG/OU=US/CN=RECIPIENTS/CN=JSMITH";
    CHECK_INT(mh_orgs_classify(orgs, dn, strlen(dn), &o, NULL), MH_OK);
    CHECK(o.via_dn);
    CHECK(o.name == NULL);
    CHECK_INT(mh_orgs_classify(orgs, "a@com", 5, &o, NULL), MH_OK);
    CHECK(strstr(o.reason, "registrable") != NULL);
    /* a too-long address is reported, not truncated into a key */
    char longaddr[700];
    memset(longaddr, 'a', sizeof longaddr);
    memcpy(longaddr + sizeof longaddr - 12, "@example.com", 12);
    CHECK_INT(mh_orgs_classify(orgs, longaddr, sizeof longaddr, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_INVALID);
    CHECK_STREQ(o.reason, "address too long");
    /* kinds */
    CHECK_STREQ(mh_org_kind_str(MH_ORG_FREEMAIL), "individual");
    CHECK_STREQ(mh_org_kind_str(MH_ORG_OVERRIDE), "organisation");
    CHECK(mh_org_kind_notified(MH_ORG_DOMAIN) && !mh_org_kind_notified(MH_ORG_INTERNAL) &&
          !mh_org_kind_notified(MH_ORG_UNRESOLVED) && !mh_org_kind_notified(MH_ORG_INVALID));
    CHECK(mh_orgs_count(orgs) > 150);
    CHECK(mh_psl_rules() != 0);
    CHECK(strcmp(mh_psl_source(), "none") != 0);
    CHECK(mh_psl_is_public_suffix("co.uk") && !mh_psl_is_public_suffix("bbc.co.uk"));
}

static void t_lists(void)
{
    struct mh_slice id;
    struct mh_org o;
    const char *h = "Users of Foo <foo-users.lists.example.org>";
    CHECK_INT(mh_org_list_id(h, strlen(h), &id), MH_OK);
    CHECK_SLICE(id, "foo-users.lists.example.org");
    CHECK_INT(mh_org_list_id(" bare.list.example.net ", 23, &id), MH_OK);
    CHECK_SLICE(id, "bare.list.example.net");
    CHECK_INT(mh_org_list_id("no list here", 12, &id), MH_EPARSE);
    CHECK_INT(mh_org_list_id("<>", 2, &id), MH_EPARSE);
    if (!orgs) return;
    CHECK_INT(mh_orgs_classify_list(orgs, id.ptr, id.len, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_LIST);
    CHECK_STREQ(o.key, "example.net");
    CHECK_INT(mh_orgs_classify_list(orgs, "MyList.GoogleGroups.com", 23, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_LIST);
    CHECK_STREQ(o.key, "mylist.googlegroups.com");
    CHECK_INT(mh_orgs_classify_list(orgs, "staff.contoso.com", 17, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_INTERNAL);
    CHECK_INT(mh_orgs_classify_list(orgs, "x.localhost", 11, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_INVALID);
    CHECK_INT(mh_orgs_classify_list(orgs, "news.reliant.com", 16, &o, NULL), MH_OK);
    CHECK_INT(o.kind, MH_ORG_LIST);
    CHECK_STREQ(o.key, "reliant.com");
}

static void t_tenant(void)
{
    mh_orgs *t = NULL;
    mh_error err;
    struct mh_org o;
    CHECK_INT(mh_orgs_new(&t, &err), MH_OK);
    CHECK_INT(mh_orgs_load_default_freemail(t, &err), MH_OK);
    CHECK_INT(mh_orgs_load_tenant_file(t, DATA "tenant.json", &err), MH_OK);
    static const struct row rows[] = {
        {"a@woodgrove.co.uk", MH_ORG_OVERRIDE, "woodgrove", NULL},
        {"b@branch.woodgrovebank.com", MH_ORG_OVERRIDE, "woodgrove", NULL},
        {"C@ExampleMail.net", MH_ORG_FREEMAIL, "c@examplemail.net", NULL},
        {"c@x.tailspin.com", MH_ORG_INTERNAL, "tailspin.com", NULL},
        {"d@fabrikam-internal.com", MH_ORG_INTERNAL, "fabrikam-internal.com", NULL},
        {"/o=tailspin/cn=recipients/cn=zed", MH_ORG_INTERNAL, "tailspin.com", "zed@tailspin.com"},
        {"e@gmail.com", MH_ORG_FREEMAIL, "e@gmail.com", NULL},
        {"f@other.org", MH_ORG_DOMAIN, "other.org", NULL},
    };
    mh_orgs *saved = orgs;
    orgs = t;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) CHECK(check_row(&rows[i], 1));
    orgs = saved;
    CHECK_INT(mh_orgs_classify(t, "a@woodgrove.co.uk", 17, &o, NULL), MH_OK);
    CHECK_STREQ(o.name, "Woodgrove Bank");

    /* malformed tenant files */
    static const struct {
        const char *json;
        mh_status st;
    } bad[] = {
        {"{\"partners\": [", MH_EPARSE},
        {"[1, 2]", MH_EPARSE},
        {"{\"partners\": {}}", MH_EPARSE},
        {"{\"partners\": [{\"name\": \"no key\", \"domains\": [\"x.com\"]}]}", MH_EPARSE},
        {"{\"partners\": [{\"key\": \"k\", \"domains\": [42]}]}", MH_EPARSE},
        {"{\"partners\": [{\"key\": \"k\", \"freemail\": \"yes\"}]}", MH_EPARSE},
        {"{\"internal_domains\": \"contoso.com\"}", MH_EPARSE},
        {"{\"partners\": [{\"key\": \"bad/key\", \"domains\": [\"x.com\"]}]}", MH_EINVAL},
        {"{\"internal_domains\": [\"bad domain\"]}", MH_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mh_status st = mh_orgs_load_tenant(t, bad[i].json, strlen(bad[i].json), &err);
        if (st != bad[i].st) fprintf(stderr, "tenant %zu: %s\n", i, mh_status_str(st));
        CHECK_INT(st, bad[i].st);
    }
    CHECK_INT(mh_orgs_load_tenant(t, "{}", 2, &err), MH_OK);
    mh_orgs_free(t);
}

static void t_files(void)
{
    mh_orgs *t = NULL;
    mh_error err;
    CHECK_INT(mh_orgs_new(&t, &err), MH_OK);
    mh_error_clear(&err);
    CHECK_INT(mh_orgs_load_overrides(t, DATA "bad-overrides.txt", &err), MH_EPARSE);
    CHECK_INT(err.line, 3);
    CHECK(strstr(err.origin, "bad-overrides.txt") != NULL);
    mh_error_clear(&err);
    CHECK_INT(mh_orgs_load_freemail(t, DATA "bad-freemail.txt", &err), MH_EPARSE);
    CHECK_INT(err.line, 2);
    mh_error_clear(&err);
    CHECK_INT(mh_orgs_load_freemail(t, DATA "bad-wildcard.txt", &err), MH_EINVAL);
    CHECK_INT(err.line, 2);
    CHECK_INT(mh_orgs_load_freemail(t, DATA "missing.txt", &err), MH_EIO);
    CHECK_INT(mh_orgs_add_override(t, "x.com", "+0", NULL, &err), MH_EINVAL);
    CHECK_INT(mh_orgs_add_override(t, "x.com", ".hidden", NULL, &err), MH_EINVAL);
    CHECK_INT(mh_orgs_add_dn(t, "not a dn", 8, "a@b.com", 7, &err), MH_EINVAL);
    CHECK_INT(mh_orgs_add_dn(t, "/O=A", 4, "no-at", 5, &err), MH_EINVAL);
    /* the default list honours MAILHOUND_DATA */
    setenv("MAILHOUND_DATA", "/nonexistent-data-dir", 1);
    CHECK_INT(mh_orgs_load_default_freemail(t, &err), MH_EIO);
    CHECK(strstr(err.origin, "/nonexistent-data-dir/rules/notify/freemail.txt") != NULL);
    unsetenv("MAILHOUND_DATA");
    mh_orgs_free(t);
    mh_orgs_free(NULL);
}

static void *worker(void *arg)
{
    long *bad = arg;
    for (int rep = 0; rep < 50; rep++)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (!check_row(&table[i], 0)) (*bad)++;
    return NULL;
}

static void t_threads(void)
{
    if (!orgs) return;
    pthread_t th[4];
    long bad[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) CHECK_INT(pthread_create(&th[i], NULL, worker, &bad[i]), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    CHECK_INT(bad[0] + bad[1] + bad[2] + bad[3], 0);
}

int main(void)
{
    if (!build()) {
        fprintf(stderr, "cannot build the organisation tables\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    static const struct mh_test T[] = {
        {"table", t_table}, {"lists", t_lists},     {"tenant", t_tenant},
        {"files", t_files}, {"threads", t_threads},
    };
    int rc = MH_TEST_RUN(T);
    mh_orgs_free(orgs);
    return rc;
}
