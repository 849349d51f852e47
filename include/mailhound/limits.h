/*
 * mailhound/limits.h -- every resource limit of the library, in one place
 *
 * Exceeding a limit is an error for the one record / rule / message / key
 * concerned (MH_ELIMIT, reported and counted), never a crash and never an
 * unbounded allocation. Long-lived containers evict as documented next to
 * their cap and count what they evicted.
 */
#ifndef MAILHOUND_LIMITS_H
#define MAILHOUND_LIMITS_H

/* ---- base ---- */
#define MH_ARENA_KEEP (32u << 20)         /* largest block an arena keeps across resets; a batch
                                             loop settles on one block sized to its busiest batch
                                             up to this, and allocates nothing in steady state */

/* ---- ingest ---- */
#define MH_MAX_RECORD_BYTES (64u << 20)   /* one JSON record / CSV row (decoded) */
#define MH_READ_CHUNK_BYTES (256u << 10) /* read() granularity of the input layer: small
                                            enough that a chunk is still in the CPU cache
                                            when the splitter scans it (docs/hunt.md) */
#define MH_MAX_PATH_DEPTH 64              /* directory recursion */
#define MH_MAX_DECOMPRESSED_RATIO 2000u   /* zip-bomb guard: out/in bytes per file */
#define MH_MAX_CSV_COLUMNS 1024
#define MH_MAX_CSV_HEADER_BYTES (1u << 20)

/* ---- JSON reader ---- */
#define MH_JSON_MAX_DEPTH 128             /* nesting of arrays/objects */
#define MH_JSON_MAX_NODES (16u << 20)     /* tape entries per document */
#define MH_JSON_MAX_NESTED_DEPTH 4        /* JSON-in-string decoded lazily, levels */

/* ---- events ---- */
#define MH_MAX_FIELDS_PER_EVENT 65536     /* leaves visited when enumerating an event */
#define MH_MAX_FIELD_PATH 512             /* bytes in a field path */
#define MH_EVENT_ARENA_BYTES (256u << 20) /* scratch per batch for lazy decoding */

/* ---- rules ---- */
#define MH_MAX_RULE_FILE_BYTES (16u << 20)
#define MH_MAX_RULES 100000
#define MH_MAX_CONDITION_DEPTH 64
#define MH_MAX_VALUES_PER_ITEM 4096       /* after windash/base64offset expansion */
#define MH_MAX_REGEX_BYTES 65536

/* ---- correlation / stateful detectors ---- */
#define MH_MAX_KEYS_PER_CORRELATION 1000000 /* groups tracked; LRU eviction, counted */
#define MH_MAX_EVENTS_PER_KEY 100000        /* window entries per group; oldest evicted */
#define MH_MAX_DISTINCT_PER_KEY 100000      /* distinct values per group; saturates */

/* ---- mail ---- */
#define MH_MAX_MESSAGE_BYTES (256u << 20)
#define MH_MAX_MIME_DEPTH 32
#define MH_MAX_FRAGMENT_BYTES (32u << 20)

/* ---- threads ---- */
#define MH_MAX_THREADS 64
#define MH_BATCH_RECORDS 4096
#define MH_BATCH_BYTES (1u << 20)        /* records handed to a worker at once: small enough
                                            that a batch is still cached when it is matched */

/* ---- regex / multi-pattern adapters (src/rules/regex.c, multimatch.c) ---- */
#define MH_REGEX_MATCH_LIMIT 1000000u     /* PCRE2 match() calls per exec */
#define MH_REGEX_DEPTH_LIMIT 10000u       /* PCRE2 backtracking depth per exec */
#define MH_REGEX_HEAP_LIMIT_KB 65536u     /* PCRE2 heap per exec (KiB) */
#define MH_REGEX_JIT_STACK_BYTES (1u << 20) /* JIT stack per scratch (max) */
#define MH_MM_MAX_PATTERNS 1000000u       /* patterns per Hyperscan database */

/* ---- record readers (src/ingest/reader.c, split.c, csv.c, detect.c) ---- */
#define MH_MAX_INPUT_FILES 1000000u       /* files one reader visits (directory walks included) */
#define MH_SPLIT_MAX_DEPTH 1024u          /* nesting tracked by the structural JSON splitter */
#define MH_DETECT_PREFIX_BYTES 512u       /* decoded bytes sniffed for the text encoding */
#define MH_MAX_CSV_NAME_BYTES 256u        /* one CSV column name (generic layout check) */

/* ---- normalizer (appended by normalize/) ---- */
#define MH_MAX_LIVE_EVENTS 65536          /* events initialised between two normalizer resets */
#define MH_NZ_POOL_NODES (4u << 20)       /* tape nodes a normalizer keeps across resets (64 MiB);
                                             tapes beyond this budget are released on reset */
#define MH_MAX_HELD_REPORTS 4096u       /* reader reports held back per batch to pass them on
                                            in input order (ingest/held.h) */
#define MH_MAX_STATS_OPERATIONS 100000    /* distinct operations `stats` lists; the rest: "(other)" */

/* ---- mail store and secrets (src/ingest/mime.c, mailstore.c; src/secrets/) ---- */
#define MH_MAX_MAIL_FILES 10000000u        /* files one mail store visits */
#define MH_MAX_MAIL_LOCATIONS 10000000u    /* message locations indexed per store */
#define MH_MAX_MAIL_HEADER_BYTES (1u << 20) /* header block read by the header-only index */
#define MH_MAX_MAIL_ADDRESSES 10000u       /* addresses kept per message (all roles) */
#define MH_MAX_MIME_PARTS 10000u           /* MIME objects walked per message */
#define MH_MAX_OWNER_MAP_BYTES (16u << 20) /* --owner mapping file */
#define MH_TOML_MAX_DEPTH 64u              /* nesting of arrays / inline tables / key parts */
#define MH_TOML_MAX_VALUES (1u << 20)      /* values per TOML document */
#define MH_GL_MAX_EXTEND_DEPTH 2u          /* gitleaks [extend] chain (its maxExtendDepth) */
#define MH_SECRETS_MAX_MATCHES 100000u     /* regex matches confirmed per rule per fragment */

/* ---- notify: organisations, redaction, packages, ledger, STIX (src/notify/, base/db.c) ---- */
#define MH_DB_BUSY_TIMEOUT_MS 10000       /* wait for another process's write lock */
#define MH_ORG_MAX_ENTRIES 1000000u       /* free-mail + override + internal + partner + DN entries */
#define MH_ORG_MAX_FILE_BYTES (64u << 20) /* one overrides / free-mail / DN map / tenant file */
#define MH_MAX_ADDRESS_BYTES 512u         /* one e-mail address or organisation key */
#define MH_REDACT_MAX_FIELDS 65536u       /* Bcc-like fields removed from one message */
#define MH_PKG_MAX_MESSAGES 999999u       /* messages in one package (6-digit file numbers) */
#define MH_PKG_MAX_TEXT_BYTES (64u << 10) /* one messages.csv field or bag-info value */
#define MH_PKG_MAX_TAG_BYTES (256u << 20) /* one generated tag/CSV file (manifest, notice, csv) */
#define MH_TAR_MAX_FILE_BYTES (8LL << 30)       /* ustar size field: < 8 GiB per member */
#define MH_STIX_MAX_INDICATORS 100000u    /* indicators in one bundle */
#define MH_LEDGER_MAX_ITEMS_PER_ORG 10000000u /* recorded messages loaded for one organisation */
#define MH_LEDGER_MAX_BATCH 1024u             /* packages made durable and recorded together */
#define MH_LEDGER_MAX_BATCH_ITEMS 200000u     /* (org, message) rows held by one batch */

/* ---- Sigma rules (src/rules/) ---- */
#define MH_YAML_MAX_DEPTH 64              /* nesting of YAML collections */
#define MH_YAML_MAX_NODES (1u << 20)      /* nodes per file, aliases counted expanded */
#define MH_YAML_MAX_DOCS 10000            /* documents per file */
#define MH_MAX_SIGMA_ITEMS 100000         /* detection items per rule (after list expansion) */
#define MH_MAX_RULE_FILES 100000          /* rule files per ruleset */
#define MH_MAX_EXPAND_BYTES (1u << 20)    /* one expand placeholder file */
#define MH_MAX_FIELDMAP_BYTES (1u << 20)  /* one field-map file */

/* ---- simulator (src/sim/) ---- */
#define MH_SIM_MAX_USERS 200000           /* users of the primary tenant (--users) */
#define MH_SIM_MAX_DAYS 366               /* --days */
#define MH_SIM_MAX_TENANTS 16             /* --tenants */
#define MH_SIM_MAX_PARTNERS 5000          /* --partners */
#define MH_SIM_MAX_RCPT 12                /* To+Cc+Bcc of one simulated message */
#define MH_SIM_RING 12                    /* recent messages remembered per mailbox */
#define MH_SIM_MSG_TABLE 65536            /* recent messages kept for replies (ring) */
#define MH_SIM_MAX_TARGETS 256            /* mailboxes whose full history is indexed */
#define MH_SIM_MAX_TARGET_MSGS 2000000    /* indexed (mailbox, message) pairs */
#define MH_SIM_MAX_TRUTH_REFS 4000000     /* malicious record references */
#define MH_SIM_MAX_EVENTS (64u << 20)     /* pending events in the scheduler */
#define MH_SIM_MAX_DELIVERIES (16u << 20) /* mailbox deliveries buffered per day */
#define MH_SIM_MAX_MSG_BYTES (1u << 20)   /* one composed message */
#define MH_SIM_FILE_BUF (1u << 20)        /* write buffer per open output file */
#define MH_SIM_MAX_LIST_MEMBERS 300       /* mailing-list subscribers (mail volume) */

#define MH_MAX_SIGMA_VALUE_BYTES 65536    /* one Sigma value after transforms (sigma) */
#define MH_MAX_SIGMA_ITEM_VALUES 65536    /* values of one detection item (SigmaHQ has 4,100+) */
#define MH_MAX_CORR_PENDING 262144        /* Sigma correlation hits held for time ordering */
#define MH_MAX_CORR_CARRY 262144u         /* Sigma correlation hits carried to the next run
                                             (--state), the most recent kept */
#define MH_MAX_PATH_BYTES 4096u           /* a file name carried in the state (longer: skipped) */
#define MH_MAX_CORR_ENTRIES 4000000       /* window entries over all Sigma correlation groups */
#define MH_MAX_CORR_REFS 64               /* contributing events listed in one correlation alert */

/* ---- stateful detectors and incidents (src/correlate/detector.h, incident.h) ----
 * At a cap, NEW keys are not tracked and are counted (mh_detector_stats.dropped);
 * existing keys keep updating. A key that is not tracked can only lose a
 * detection or make it "unverifiable", never create one. */
#define MH_DET_MAX_STRINGS (8u << 20)       /* interned entity strings per detector set */
#define MH_DET_MAX_PENDING 1000000u         /* detections waiting for the final sort */
#define MH_DET_MAX_GAPS 1000000u            /* coverage gaps handed to scope */
#define MH_DET_MAX_LINKS 1000000u           /* principal links handed to incidents */
#define MH_DET_MAX_SEEDS 100000u            /* attacker-context IPs/sessions from alerts */
#define MH_D9_MAX_PAIRS 2000000u            /* (tenant|mailbox, AppId, ClientAppId) entries */
#define MH_D9_MAX_SCOPES 1000000u           /* tenants + mailboxes with coverage */
#define MH_D7_MAX_SP_ADDRS 1000000u         /* (service principal, IP) pairs */
#define MH_D14_MAX_SIGNINS (8u << 20)       /* sign-in ids indexed (~16 B each); beyond: saturated,
                                               every candidate judged later is unverifiable */
#define MH_D14_MAX_SESSIONS (4u << 20)      /* sign-in session ids indexed (same policy) */
#define MH_D14_MAX_HOURS_PER_SESSION 512u   /* hour buckets per session; beyond: session
                                               treated as always known (never a candidate) */
#define MH_D14_MAX_CANDIDATES 1000000u      /* unmatched tokens waiting for finish */
#define MH_D14_MAX_INTERVALS 65536u         /* coverage intervals per stream; isolated points
                                               beyond are dropped (less coverage, never more) */
#define MH_D15_MAX_SESSIONS (2u << 20)      /* sessions tracked for countries / ASNs */
#define MH_D15_MAX_VALUES_PER_SESSION 16u   /* distinct countries+ASNs per session (saturates) */
#define MH_D15_MAX_USERS 1000000u           /* users tracked for AiTM logins */
#define MH_D15_LOGINS_PER_USER 16u          /* most recent logins per user (oldest evicted) */
#define MH_EGRESS_MAX_PAIRS (4u << 20)      /* (IP, user) sign-in pairs for shared-egress
                                               learning (new pairs beyond: not counted) */
#define MH_EGRESS_MAX_IPS (1u << 20)        /* IPs tallied for shared-egress learning */
#define MH_D11_MAX_KEYS 500000u             /* apps + mailboxes with daily volumes */
#define MH_D11_MAX_DAYS 400u                /* days of volume kept per key (oldest evicted) */
#define MH_D11_MAX_HOURLY_MAILBOXES 500000u /* mailboxes with hourly volumes (hourly.c) */
#define MH_D11_MAX_HOUR_BUCKETS (8u << 20)  /* non-empty (mailbox, hour) buckets over all
                                               mailboxes, ~32 B each (+ ~70 B evidence for
                                               the run's); new ones beyond: not tracked */
#define MH_D11_MAX_HOURS_PER_MAILBOX 2048u  /* non-empty hours kept per mailbox (85 days of
                                               every hour; oldest evicted, counted) */
#define MH_D11_MAX_HOUR_SAMPLES 400u        /* baseline samples of one hour (hour-of-day
                                               samples of a baseline over 400 days: the latest) */
#define MH_D11_MAX_COVER_HOURS (1u << 20)   /* stored covered hours (120 years) */
#define MH_D2_MAX_USERS 1000000u            /* users with failures or successes */
#define MH_D2_MAX_SOURCES_PER_USER 256u     /* distinct IPs per user (saturates) */
#define MH_D1_MAX_SOURCES 2000000u          /* source IPs and IPv6 /64s with sign-in results */
#define MH_D1_MAX_FAILURES_PER_SOURCE 4096u /* failures kept per source, the state's loaded
                                               first (later ones dropped, counted) */
#define MH_D1_STATE_FAILURES_PER_SOURCE 2048u /* of them written to --state: the newest (the
                                               rest counted as dropped), so that the next run
                                               keeps room for its own */
#define MH_D1_MAX_SUCCESSES_PER_SOURCE 16u  /* earliest successes kept per source */
#define MH_D1_MAX_SUCCESS_USERS 64u         /* distinct succeeding accounts counted (saturates) */
#define MH_D5_MAX_APPS 200000u              /* application keys (app id, object id, name) with
                                               sign-in days */
#define MH_D5_MAX_DAYS_PER_APP 400u         /* sign-in days kept per key (the latest) */
#define MH_D5_MAX_ACTORS 1000000u           /* (application key, actor) management records */
#define MH_D5_MAX_CREDENTIALS 100000u       /* credential changes waiting for finish */
#define MH_D5_MAX_KEYS 64u                  /* KeyIdentifiers parsed per KeyDescription side */
#define MH_D5_MAX_ADDRESSES 1000000u       /* addresses with a successful sign-in (new-address
                                               booster; beyond it the booster says unknown) */
#define MH_D5_MAX_ASNS 100000u              /* networks (ASN) with a successful sign-in */
#define MH_D10_MAX_PAIRS 2000000u           /* (tenant, accessor, other mailbox, folder) pairs */
#define MH_D10_MAX_FOLDERS 32u              /* folder paths taken per MailItemsAccessed record */
#define MH_D10_MAX_TENANTS 4096u            /* tenants with MailItemsAccessed coverage (D10) */
#define MH_D9_MAX_PATHS 1000000u            /* (tenant, client app, Graph|direct) entries */
#define MH_D14_MAX_OWNERS (2u << 20)        /* (UPN, object id) pairs from sign-ins */
#define MH_D14_MAX_OWNER_CANDIDATES 1000000u /* (mailbox, TokenObjectId) owner-logon pairs */
#define MH_D8_MAX_OBJECTS 200000u           /* service principals followed for D8 */
#define MH_CTX_MAX_ENTRIES 1000000u         /* (ip|session, principal, kind) follow-up entries */
#define MH_INCIDENT_MAX_ALERTS 2000000u     /* alerts grouped into incidents */
#define MH_INCIDENT_MAX_LINKS 1000000u      /* principal links used for grouping */
#define MH_INCIDENT_MAX_ENTITIES 256u       /* per entity list of one incident (then "+N more") */
#define MH_CONFIG_MAX_LINE 4096u            /* one line of config/detectors.conf or a rules/data list */

/* ---- scope (src/scope/): incidents -> exfiltrated messages (docs/scope.md §7) ----
 * At a cap the record / item / row / evidence concerned is dropped and
 * counted (summary.dropped); a drop can only lose a message, never add one. */
#define MH_SCOPE_MAX_INCIDENTS_BYTES (256u << 20) /* incidents.json */
#define MH_SCOPE_MAX_INCIDENTS 100000u       /* incidents kept */
#define MH_SCOPE_MAX_KEYS (8u << 20)         /* distinct keys (users, IPs, ids, client strings) */
#define MH_SCOPE_MAX_STRINGS (16u << 20)     /* interned message ids, folders, files, record ids */
#define MH_SCOPE_MAX_RECORDS (4u << 20)      /* candidate mailbox records kept (~110 B each) */
#define MH_SCOPE_MAX_ITEMS (32u << 20)       /* message ids listed by candidate records */
#define MH_SCOPE_MAX_MESSAGES (8u << 20)     /* (mailbox, message) pairs in the result */
#define MH_SCOPE_MAX_EVIDENCE 64u            /* evidence entries per (mailbox, message) */
#define MH_SCOPE_MAX_TRACE_MSGS (2u << 20)   /* trace messages kept (store lacks them) */
#define MH_SCOPE_MAX_TRACE_RCPTS (8u << 20)  /* trace recipients kept, all messages */
#define MH_SCOPE_MAX_PAIRS (1u << 20)        /* (incident IP, principal) pairs seen outside windows */
#define MH_SCOPE_MAX_ROUNDS 16u              /* learning rounds per incident (fixpoint) */
#define MH_SCOPE_MAX_GRANTS 4096u            /* app-wide grants (app, permission) seen in the logs */
#define MH_SCOPE_MAX_AUDIT_MAILBOXES (1u << 20) /* app-wide universe: store + MailItemsAccessed mailboxes */
#define MH_SCOPE_MAX_AUDIT_OBS (4u << 20)    /* (mailbox, incident) last MailItemsAccessed time in the window */
#define MH_SCOPE_MAX_APP_WIDE 4096u          /* (incident, app) app-wide results */

#endif
