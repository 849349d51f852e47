/*
 * tests/unit/test_gitleaks.c -- gitleaks rule files (src/secrets/gitleaks.c)
 *
 * 1. gitleaks' own test configs (../shared/corpora/gitleaks/gitleaks/testdata/
 *    config): every file in invalid/ is rejected with gitleaks' error text
 *    (from gitleaks' config_test.go), every file in valid/ loads, and the
 *    merged results of the [extend] cases equal gitleaks' expectations.
 *    [extend] paths in those files are relative to gitleaks' config/ folder
 *    (its tests' working directory), so base_dir points there; useDefault
 *    uses gitleaks.toml, as gitleaks does. Skipped without ../shared.
 * 2. gitleaks.toml itself: 222 rules load (facts from its header, see
 *    docs/mail-and-secrets.md §6.1).
 * 3. In-memory cases for the checks gitleaks' corpus does not cover.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "mh_test.h"
#include "secrets/gitleaks.h"

#define GL "../shared/corpora/gitleaks/gitleaks"

static bool have_shared(void)
{
    FILE *f = fopen(GL "/gitleaks.toml", "rb");
    if (!f) return false;
    fclose(f);
    return true;
}

static const struct mh_gl_load_opts OPTS = {GL "/gitleaks.toml", GL "/config"};

static struct mh_gl_config *load(const char *rel, mh_error *err)
{
    char path[512];
    snprintf(path, sizeof path, GL "/testdata/config/%s.toml", rel);
    struct mh_gl_config *c = NULL;
    mh_error_clear(err);
    if (mh_gl_load_file(path, &OPTS, &c, err) != MH_OK) return NULL;
    return c;
}

struct invalid_case {
    const char *file, *detail;
};

/* Error texts: gitleaks config/config_test.go (newest) */
static const struct invalid_case INVALID[] = {
    {"invalid/allowlist_global_empty",
     "[[allowlists]] must contain at least one check for: commits, paths, regexes, or stopwords"},
    {"invalid/allowlist_global_old_and_new",
     "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]"},
    {"invalid/allowlist_global_regextarget",
     "[[allowlists]] unknown allowlist |regexTarget| 'mtach' (expected 'match', 'line')"},
    {"invalid/allowlist_global_target_rule_id",
     "[[allowlists]] target rule ID 'github-pat' does not exist"},
    {"invalid/allowlist_rule_empty",
     "example: [[rules.allowlists]] must contain at least one check for: commits, paths, regexes, "
     "or stopwords"},
    {"invalid/allowlist_rule_old_and_new",
     "example: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlist]]"},
    {"invalid/allowlist_rule_regextarget",
     "example: [[rules.allowlists]] unknown allowlist |regexTarget| 'mtach' (expected 'match', "
     "'line')"},
    {"invalid/extend_invalid_base", "failed to load extended config, err: open "
                                    "../testdata/config/invalid/does_not_exist.toml: no such file "
                                    "or directory"},
    {"invalid/extend_invalid_ruleid", "rule |id| is missing or empty"},
    {"invalid/rule_bad_entropy_group",
     "discord-api-key: invalid regex secret group 5, max regex secret group 3"},
    {"invalid/rule_missing_id", "rule |id| is missing or empty, regex: (?i)(discord[a-z0-9_ "
                                ".\\-,]{0,25})(=|>|:=|\\|\\|:|<=|=>|"
                                ":).{0,5}['\\\"]([a-h0-9]{64})['\\\"]"},
    {"invalid/rule_no_regex_or_path",
     "discord-api-key: both |regex| and |path| are empty, this rule will have no effect"},
};

static void t_invalid(void)
{
    if (!have_shared()) {
        printf("skipped: " GL " absent\n");
        return;
    }
    for (size_t i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
        mh_error err;
        struct mh_gl_config *c = load(INVALID[i].file, &err);
        CHECK(c == NULL);
        mh_gl_free(c);
        CHECK_INT(err.code, MH_EPARSE);
        if (strcmp(err.detail, INVALID[i].detail) != 0)
            fprintf(stderr, "%s: got \"%s\"\n", INVALID[i].file, err.detail);
        CHECK_STREQ(err.detail, INVALID[i].detail);
        CHECK(strstr(err.origin, "testdata/config/") != NULL); /* says which file */
        CHECK(err.line > 0);                                   /* and where */
    }
}

static const char *const VALID[] = {
    "valid/allowlist_global_multiple",
    "valid/allowlist_global_old_compat",
    "valid/allowlist_global_regex",
    "valid/allowlist_global_target_rules",
    "valid/allowlist_rule_commit",
    "valid/allowlist_rule_extend_default",
    "valid/allowlist_rule_old_compat",
    "valid/allowlist_rule_path",
    "valid/allowlist_rule_regex",
    "valid/extend",
    "valid/extend_base_3",
    "valid/extend_base_rule_including_keywords_with_attribute",
    "valid/extend_disabled",
    "valid/extend_disabled_base",
    "valid/extend_rule_allowlist_and",
    "valid/extend_rule_allowlist_base",
    "valid/extend_rule_allowlist_or",
    "valid/extend_rule_keywords_base",
    "valid/extend_rule_new",
    "valid/extend_rule_no_regexpath",
    "valid/extend_rule_override_description",
    "valid/extend_rule_override_entropy",
    "valid/extend_rule_override_keywords",
    "valid/extend_rule_override_path",
    "valid/extend_rule_override_regex",
    "valid/extend_rule_override_secret_group",
    "valid/extend_rule_override_tags",
    "valid/rule_entropy_group",
    "valid/rule_path_only",
    "valid/rule_regex_escaped_character_group",
    "archives",
    "composite",
    "encoded",
    "generic",
    "generic_with_py_path",
    "simple",
};

static void t_valid(void)
{
    if (!have_shared()) {
        printf("skipped: " GL " absent\n");
        return;
    }
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        mh_error err;
        struct mh_gl_config *c = load(VALID[i], &err);
        if (!c) {
            char m[600];
            mh_error_format(&err, m, sizeof m);
            fprintf(stderr, "%s: %s\n", VALID[i], m);
        }
        CHECK(c != NULL);
        mh_gl_free(c);
    }
}

/* Bases of valid/extend.toml: read at depth >= 1 they stop at the depth
 * limit; read directly, gitleaks too follows them to the missing
 * extend_3.toml and fails. */
static void t_bases_direct(void)
{
    if (!have_shared()) {
        printf("skipped: " GL " absent\n");
        return;
    }
    const char *const base[] = {"valid/extend_base_1", "valid/extend_base_2"};
    for (size_t i = 0; i < 2; i++) {
        mh_error err;
        struct mh_gl_config *c = load(base[i], &err);
        CHECK(c == NULL);
        mh_gl_free(c);
        CHECK_STREQ(err.detail, "failed to load extended config, err: open "
                                "../testdata/config/extend_3.toml: no such file or directory");
    }
}

static bool strs_eq(const struct mh_gl_strs *s, const char *const *want, size_t n)
{
    if (s->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->v[i], want[i]) != 0) return false;
    return true;
}

/* The merged results gitleaks' TestTranslateExtend expects. */
static void t_extend_results(void)
{
    if (!have_shared()) {
        printf("skipped: " GL " absent\n");
        return;
    }
    mh_error err;
    struct mh_gl_config *c = load("valid/extend", &err);
    CHECK(c && c->nrules == 3);
    if (c) {
        /* depth 2 stops the chain: extend_3.toml (absent) is never read */
        CHECK_STREQ(c->rules[0]->id, "aws-access-key");
        CHECK_STREQ(c->rules[1]->id, "aws-secret-key");
        CHECK_STREQ(c->rules[2]->id, "aws-secret-key-again");
        CHECK_INT(c->extend_depth, 2);
    }
    mh_gl_free(c);

    c = load("valid/extend_disabled", &err);
    CHECK(c && c->nrules == 2 && mh_gl_find(c, "custom-rule1") == NULL);
    CHECK(c && mh_gl_find(c, "aws-secret-key") && mh_gl_find(c, "pypi-upload-token"));
    mh_gl_free(c);

    c = load("valid/extend_rule_override_description", &err);
    const struct mh_gl_rule *r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    CHECK(r && strcmp(r->description, "Puppy Doggy") == 0);
    CHECK(r && r->regex &&
          strcmp(r->regex, "(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}") == 0);
    mh_gl_free(c);

    c = load("valid/extend_rule_override_entropy", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    CHECK(r && r->entropy == 999.0);
    mh_gl_free(c);

    c = load("valid/extend_rule_override_keywords", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    static const char *const puppy[] = {"puppy"};
    CHECK(r && strs_eq(&r->keywords, puppy, 1));
    mh_gl_free(c);

    c = load("valid/extend_rule_override_tags", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    static const char *const tags[] = {"key", "AWS", "puppy"};
    CHECK(r && strs_eq(&r->tags, tags, 3));
    mh_gl_free(c);

    c = load("valid/extend_rule_override_path", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    CHECK(r && r->path && strcmp(r->path, "(?:puppy)") == 0 && r->path_re && r->regex_re);
    mh_gl_free(c);

    c = load("valid/extend_rule_override_regex", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    CHECK(r && strcmp(r->regex, "(?:a)") == 0);
    mh_gl_free(c);

    c = load("valid/extend_rule_override_secret_group", &err);
    r = c ? mh_gl_find(c, "aws-access-key") : NULL;
    CHECK(r && r->secret_group == 2 && mh_regex_groups(r->regex_re) == 2);
    mh_gl_free(c);

    c = load("valid/extend_rule_allowlist_and", &err);
    r = c ? mh_gl_find(c, "aws-secret-key-again-again") : NULL;
    CHECK(r && r->nallowlists == 2);
    if (r && r->nallowlists == 2) {
        static const char *const fake[] = {"fake"}, *const ex[] = {"example"};
        CHECK(r->allowlists[0]->condition == MH_GL_OR &&
              strs_eq(&r->allowlists[0]->stopwords, fake, 1));
        const struct mh_gl_allowlist *a = r->allowlists[1];
        CHECK(a->condition == MH_GL_AND && a->target == MH_GL_TARGET_LINE);
        CHECK(strs_eq(&a->stopwords, ex, 1) && a->commits.n == 1 && a->paths.n == 1);
        CHECK(a->path_re && a->regex_re);
    }
    mh_gl_free(c);

    c = load("valid/allowlist_global_target_rules", &err);
    CHECK(c && c->nallowlists == 1);
    CHECK(c && mh_gl_find(c, "github-app-token")->nallowlists == 1);
    CHECK(c && mh_gl_find(c, "github-pat")->nallowlists == 1);
    CHECK(c && mh_gl_find(c, "github-oauth")->nallowlists == 0);
    mh_gl_free(c);

    c = load("valid/extend_base_rule_including_keywords_with_attribute", &err);
    r = c ? mh_gl_find(c, "aws-secret-key-again-again") : NULL;
    static const char *const aws[] = {"aws"};
    CHECK(r && strs_eq(&r->keywords, aws, 1) && strcmp(r->description, "A new description") == 0);
    mh_gl_free(c);

    /* a rule left without regex and path loads (as in gitleaks) but is reported */
    c = load("valid/extend_rule_new", &err);
    const char *const *w = NULL;
    CHECK(c && mh_gl_config_warnings(c, &w) == 1);
    CHECK(w && strstr(w[0], "aws-rule-that-is-not-in-base") != NULL);
    r = c ? mh_gl_find(c, "aws-rule-that-is-not-in-base") : NULL;
    static const char *const cms[] = {"cms"};
    CHECK(r && !r->regex_re && !r->path_re && strs_eq(&r->keywords, cms, 1));
    mh_gl_free(c);

    /* useDefault: gitleaks' generic-api-key gains the user's allowlist */
    c = load("valid/allowlist_rule_extend_default", &err);
    CHECK(c && c->nrules == 222);
    r = c ? mh_gl_find(c, "generic-api-key") : NULL;
    CHECK(r && r->regex_re && r->nallowlists >= 2);
    mh_gl_free(c);
}

static void t_gitleaks_toml(void)
{
    if (!have_shared()) {
        printf("skipped: " GL " absent\n");
        return;
    }
    struct mh_gl_config *c = NULL;
    mh_error err;
    CHECK_INT(mh_gl_load_file(GL "/gitleaks.toml", NULL, &c, &err), MH_OK);
    if (!c) return;
    CHECK_INT(c->nrules, 222);
    size_t with_regex = 0, with_entropy = 0, with_path = 0, rule_al = 0;
    for (size_t i = 0; i < c->nrules; i++) {
        with_regex += c->rules[i]->regex_re != NULL;
        with_entropy += c->rules[i]->entropy != 0;
        with_path += c->rules[i]->path_re != NULL;
        rule_al += c->rules[i]->nallowlists;
    }
    CHECK_INT(with_regex, 221);
    CHECK_INT(with_entropy, 130);
    CHECK_INT(with_path, 5);
    CHECK_INT(rule_al, 13);
    const struct mh_gl_rule *p12 = mh_gl_find(c, "pkcs12-file");
    CHECK(p12 && !p12->regex_re && p12->path_re);
    const struct mh_gl_rule *sonar = mh_gl_find(c, "sonar-api-token");
    CHECK(sonar && sonar->secret_group == 2);
    CHECK_STREQ(c->min_version, "v8.25.0");
    CHECK_INT(c->nallowlists, 1);
    if (c->nallowlists == 1) {
        CHECK_INT(c->allowlists[0]->paths.n, 25);
        CHECK_INT(c->allowlists[0]->regexes.n, 13);
        CHECK_INT(c->allowlists[0]->stopwords.n, 2);
    }
    const struct mh_gl_rule *g = mh_gl_find(c, "generic-api-key");
    size_t sw = 0;
    for (size_t i = 0; g && i < g->nallowlists; i++) sw += g->allowlists[i]->stopwords.n;
    CHECK(sw >= 1400);
    mh_gl_free(c);
}

struct mem_case {
    const char *toml, *detail;
    unsigned line;
};

static const struct mem_case MEM_BAD[] = {
    {"[[rules]]\nid = 'x'\nregex = '(unclosed'\n", NULL, 1},
    {"[[rules]]\nid = 'x'\nregex = 'a'\nentropy = 'high'\n",
     "'entropy' must be a number, not string", 4},
    {"[[rules]]\nid = 'x'\nregex = 'a'\nkeywords = 'k'\n",
     "'keywords' must be an array of strings, not string", 4},
    {"[[rules]]\nid = 'x'\nregex = 'a'\nkeywords = ['k', 1]\n",
     "'keywords' must be an array of strings, not of integer", 4},
    {"[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.required]]\nid = 'y'\n",
     "x: [[rules.required]] rule ID 'y' does not exist", 1},
    {"[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.required]]\nwithinLines = 1\n",
     "x: [[rules.required]] rule ID is empty", 4},
    {"[extend]\nuseDefault = true\npath = 'b.toml'\n",
     "unable to load config due to extend.path and extend.useDefault being set", 1},
    {"[extend]\nuseDefault = true\n",
     "failed to load extended default config, err: no default configuration", 1},
    {"[[allowlists]]\ncondition = 'xor'\nstopwords = ['a']\n",
     "[[allowlists]] unknown allowlist |condition| 'xor' (expected 'and', 'or')", 1},
    {"[[rules]]\nid = 'x'\nregex = 'a'\n[[rules.allowlists]]\nregexes = ['(']\n", NULL, 4},
};

static void t_mem(void)
{
    for (size_t i = 0; i < sizeof MEM_BAD / sizeof MEM_BAD[0]; i++) {
        struct mh_gl_config *c = NULL;
        mh_error err;
        mh_error_clear(&err);
        mh_status st =
            mh_gl_load_mem(MEM_BAD[i].toml, strlen(MEM_BAD[i].toml), "m.toml", NULL, &c, &err);
        CHECK_INT(st, MH_EPARSE);
        CHECK(c == NULL);
        if (MEM_BAD[i].detail) {
            if (strcmp(err.detail, MEM_BAD[i].detail))
                fprintf(stderr, "case %zu: %s\n", i, err.detail);
            CHECK_STREQ(err.detail, MEM_BAD[i].detail);
        } else {
            CHECK(strstr(err.detail, "invalid regex") != NULL);
        }
        CHECK_INT(err.line, MEM_BAD[i].line);
        CHECK_STREQ(err.origin, "m.toml");
    }
    /* OR/AND spellings, stopwords lower-cased and unique, deprecated single table */
    const char *ok = "[[rules]]\nid = 'x'\nregex = '''k(e)y(\\d+)'''\nsecretGroup = 2\n"
                     "keywords = ['KEY', 'Key']\n"
                     "[rules.allowlist]\ncondition = '&&'\nstopwords = ['Foo', 'FOO', 'bar']\n"
                     "regexTarget = 'match'\n"
                     "[allowlist]\npaths = ['a', 'b']\n";
    struct mh_gl_config *c = NULL;
    mh_error err;
    CHECK_INT(mh_gl_load_mem(ok, strlen(ok), "m.toml", NULL, &c, &err), MH_OK);
    if (c) {
        const struct mh_gl_rule *r = c->rules[0];
        static const char *const kw[] = {"key", "key"}, *const sw[] = {"foo", "bar"};
        CHECK(strs_eq(&r->keywords, kw, 2));
        CHECK(r->nallowlists == 1 && r->allowlists[0]->condition == MH_GL_AND);
        CHECK(r->nallowlists == 1 && strs_eq(&r->allowlists[0]->stopwords, sw, 2));
        CHECK(r->nallowlists == 1 && r->allowlists[0]->target == MH_GL_TARGET_MATCH);
        CHECK(c->nallowlists == 1 && c->allowlists[0]->path_re != NULL);
        CHECK_INT(mh_regex_groups(r->regex_re), 2);
    }
    mh_gl_free(c);
}

static void t_alloc_fail(void)
{
    const char *txt = "title = 't'\n[[rules]]\nid = 'x'\nregex = 'a(b)'\nkeywords = ['a']\n"
                      "[[rules.allowlists]]\nregexes = ['q', 'r']\nstopwords = ['s']\n"
                      "[[allowlists]]\ntargetRules = ['x']\npaths = ['p']\n";
    int ok = 0;
    for (int64_t n = 0; n < 400; n++) {
        struct mh_gl_config *c = NULL;
        mh_error err;
        mh_alloc_fail_after(n);
        mh_status st = mh_gl_load_mem(txt, strlen(txt), "a.toml", NULL, &c, &err);
        mh_alloc_fail_after(-1);
        CHECK(st == MH_OK || st == MH_ENOMEM);
        if (st == MH_OK) {
            ok++;
            CHECK(c && c->rules[0]->nallowlists == 2);
            mh_gl_free(c);
        }
    }
    CHECK(ok > 0);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"invalid", t_invalid},
        {"valid", t_valid},
        {"bases_direct", t_bases_direct},
        {"extend_results", t_extend_results},
        {"gitleaks_toml", t_gitleaks_toml},
        {"mem", t_mem},
        {"alloc_fail", t_alloc_fail},
    };
    return MH_TEST_RUN(T);
}
