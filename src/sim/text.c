/*
 * sim/text.c -- the words of the simulated organisation
 *
 * Pipeline: sim. Person names (with the non-ASCII names real directories
 * hold: José Núñez, Zoë Müller, Łukasz Wójcik, ...), job titles, message
 * topics per department, subjects (some in German, French, Spanish and
 * Japanese, so RFC 2047 encoding is exercised) and body paragraphs.
 *
 * Every text is a pure function of (topic, seed): a reply can quote the
 * message it answers by regenerating it, without storing bodies.
 * Placeholders in templates: {P} project, {Q} quarter, {N} number, {D}
 * weekday, {C} city, {M} month.
 */
#include <string.h>

#include "sim/model.h"
#include "sim/text.h"

static const struct sim_name firsts[] = {
    {"James", "james"},       {"Mary", "mary"},
    {"Robert", "robert"},     {"Patricia", "patricia"},
    {"John", "john"},         {"Jennifer", "jennifer"},
    {"Michael", "michael"},   {"Linda", "linda"},
    {"David", "david"},       {"Elizabeth", "elizabeth"},
    {"William", "william"},   {"Barbara", "barbara"},
    {"Richard", "richard"},   {"Susan", "susan"},
    {"Joseph", "joseph"},     {"Jessica", "jessica"},
    {"Thomas", "thomas"},     {"Sarah", "sarah"},
    {"Charles", "charles"},   {"Karen", "karen"},
    {"Daniel", "daniel"},     {"Nancy", "nancy"},
    {"Matthew", "matthew"},   {"Lisa", "lisa"},
    {"Anthony", "anthony"},   {"Betty", "betty"},
    {"Mark", "mark"},         {"Sandra", "sandra"},
    {"Paul", "paul"},         {"Ashley", "ashley"},
    {"Steven", "steven"},     {"Emily", "emily"},
    {"Andrew", "andrew"},     {"Michelle", "michelle"},
    {"Kenji", "kenji"},       {"Priya", "priya"},
    {"Wei", "wei"},           {"Fatima", "fatima"},
    {"Olusegun", "olusegun"}, {"Ingrid", "ingrid"},
    {"Lars", "lars"},         {"Aoife", "aoife"},
    {"Mateo", "mateo"},       {"Chloe", "chloe"},
    {"José", "jose"},         {"Zoë", "zoe"},
    {"Søren", "soren"},       {"Łukasz", "lukasz"},
    {"Renée", "renee"},       {"François", "francois"},
    {"Jürgen", "jurgen"},     {"Ólafur", "olafur"},
    {"Çağla", "cagla"},       {"Björn", "bjorn"},
    {"Anaïs", "anais"},       {"Małgorzata", "malgorzata"},
    {"Hélène", "helene"},     {"Dagný", "dagny"},
    {"Nuño", "nuno"},         {"Siobhán", "siobhan"},
};

static const struct sim_name lasts[] = {
    {"Smith", "smith"},
    {"Johnson", "johnson"},
    {"Williams", "williams"},
    {"Brown", "brown"},
    {"Jones", "jones"},
    {"Garcia", "garcia"},
    {"Miller", "miller"},
    {"Davis", "davis"},
    {"Rodriguez", "rodriguez"},
    {"Martinez", "martinez"},
    {"Hernandez", "hernandez"},
    {"Lopez", "lopez"},
    {"Gonzalez", "gonzalez"},
    {"Wilson", "wilson"},
    {"Anderson", "anderson"},
    {"Thomas", "thomas"},
    {"Taylor", "taylor"},
    {"Moore", "moore"},
    {"Jackson", "jackson"},
    {"Martin", "martin"},
    {"Lee", "lee"},
    {"Perez", "perez"},
    {"Thompson", "thompson"},
    {"White", "white"},
    {"Harris", "harris"},
    {"Sanchez", "sanchez"},
    {"Clark", "clark"},
    {"Ramirez", "ramirez"},
    {"Lewis", "lewis"},
    {"Robinson", "robinson"},
    {"Walker", "walker"},
    {"Young", "young"},
    {"Allen", "allen"},
    {"King", "king"},
    {"Wright", "wright"},
    {"Scott", "scott"},
    {"Nguyen", "nguyen"},
    {"Hill", "hill"},
    {"Flores", "flores"},
    {"Green", "green"},
    {"Adams", "adams"},
    {"Nelson", "nelson"},
    {"Baker", "baker"},
    {"Tanaka", "tanaka"},
    {"Patel", "patel"},
    {"Chen", "chen"},
    {"Okafor", "okafor"},
    {"Larsen", "larsen"},
    {"Murphy", "murphy"},
    {"O'Brien", "obrien"},
    {"Fischer", "fischer"},
    {"Dubois", "dubois"},
    {"Rossi", "rossi"},
    {"Kowalski", "kowalski"},
    {"Svensson", "svensson"},
    {"Müller", "muller"},
    {"Núñez", "nunez"},
    {"Ødegaard", "odegaard"},
    {"Wójcik", "wojcik"},
    {"Lefèvre", "lefevre"},
    {"Gößling", "gossling"},
    {"Jónsdóttir", "jonsdottir"},
    {"Yılmaz", "yilmaz"},
    {"Åberg", "aberg"},
    {"Šimek", "simek"},
    {"Peña", "pena"},
};

const struct sim_name *sim_text_first(struct sim_rng *r)
{
    /* non-ASCII names are ~1 in 8 */
    size_t n = sizeof firsts / sizeof firsts[0];
    if (sim_rng_chance(r, 0.12)) return &firsts[44 + sim_rng_below(r, n - 44)];
    return &firsts[sim_rng_below(r, 44)];
}

const struct sim_name *sim_text_last(struct sim_rng *r)
{
    size_t n = sizeof lasts / sizeof lasts[0];
    if (sim_rng_chance(r, 0.12)) return &lasts[55 + sim_rng_below(r, n - 55)];
    return &lasts[sim_rng_below(r, 55)];
}

const char *const sim_dept_name[D__N] = {
    "Executive", "Security",   "Legal", "Engineering",      "Sales", "Finance", "Human Resources",
    "Marketing", "Operations", "IT",    "Customer Support",
};

static const char *const titles[D__N][3] = {
    {"Chief Executive Officer", "Chief Financial Officer", "Chief Operating Officer"},
    {"Security Analyst", "Security Engineer", "Incident Responder"},
    {"Counsel", "Paralegal", "Contracts Manager"},
    {"Software Engineer", "Senior Software Engineer", "Engineering Manager"},
    {"Account Executive", "Sales Manager", "Sales Development Representative"},
    {"Accountant", "Financial Analyst", "Controller"},
    {"HR Business Partner", "Recruiter", "HR Coordinator"},
    {"Marketing Manager", "Content Strategist", "Product Marketing Manager"},
    {"Operations Manager", "Logistics Coordinator", "Facilities Manager"},
    {"Systems Administrator", "IT Support Engineer", "Cloud Administrator"},
    {"Support Specialist", "Support Team Lead", "Customer Success Manager"},
};

static const char *const exec_titles[] = {
    "Chief Executive Officer",
    "Chief Financial Officer",
    "Chief Operating Officer",
    "Chief Information Security Officer",
    "General Counsel",
    "Chief Technology Officer",
    "VP Sales",
    "VP Engineering",
    "Chief People Officer",
    "Executive Assistant",
};

const char *sim_text_title(int dept, struct sim_rng *r, bool exec)
{
    if (exec) return exec_titles[sim_rng_below(r, 9)];
    return titles[dept][sim_rng_below(r, 3)];
}

const char *sim_text_exec_assistant(void)
{
    return exec_titles[9];
}

/* ---- topics ---- */

struct topic {
    uint16_t depts; /* bit per department; 0 = everyone */
    const char *subject;
    uint8_t para; /* paragraph family */
};

#define B(d) (1u << (d))
static const struct topic topics[] = {
    {0, "Quick question about {P}", 0},
    {0, "Meeting notes {D}", 0},
    {0, "Follow-up: {P} status", 0},
    {0, "Lunch on {D}?", 4},
    {0, "Out of office {D}", 4},
    {0, "FYI: {P} timeline", 0},
    {B(D_EXEC), "Board meeting preparation {Q}", 1},
    {B(D_EXEC), "Strategy offsite agenda", 1},
    {B(D_EXEC) | B(D_FINANCE), "{Q} results - confidential", 1},
    {B(D_EXEC) | B(D_LEGAL), "Acquisition of {P} - term sheet", 1},
    {B(D_EXEC), "Investor update draft", 1},
    {B(D_SECURITY), "Incident {N} - phishing report", 2},
    {B(D_SECURITY), "Vulnerability scan results {M}", 2},
    {B(D_SECURITY) | B(D_IT), "Firewall change request {N}", 2},
    {B(D_SECURITY), "Red team engagement scope", 2},
    {B(D_SECURITY) | B(D_EXEC), "Security posture review {Q}", 2},
    {B(D_LEGAL), "NDA for {P}", 3},
    {B(D_LEGAL), "Contract redlines - {P}", 3},
    {B(D_LEGAL) | B(D_HR), "Employment matter {N} (privileged)", 3},
    {B(D_LEGAL), "Litigation hold notice", 3},
    {B(D_ENGINEERING), "Release {N} sign-off", 5},
    {B(D_ENGINEERING), "Design review: {P}", 5},
    {B(D_ENGINEERING) | B(D_IT), "Build pipeline failing on {D}", 5},
    {B(D_ENGINEERING), "Postmortem: {P} outage", 5},
    {B(D_SALES), "Proposal for {P}", 6},
    {B(D_SALES), "Pricing approval {N}", 6},
    {B(D_SALES) | B(D_SUPPORT), "Customer escalation - {P}", 6},
    {B(D_SALES), "Pipeline review {M}", 6},
    {B(D_FINANCE), "Invoice {N} overdue", 7},
    {B(D_FINANCE), "Budget {Q} - revision", 7},
    {B(D_FINANCE), "Expense report {M}", 7},
    {B(D_FINANCE) | B(D_EXEC), "Wire transfer approval {N}", 7},
    {B(D_HR), "Offer letter - {P}", 8},
    {B(D_HR), "Benefits enrolment reminder", 8},
    {B(D_HR), "Interview schedule {D}", 8},
    {B(D_MARKETING), "Campaign brief: {P}", 9},
    {B(D_MARKETING), "Press release draft", 9},
    {B(D_MARKETING) | B(D_SALES), "Event in {C} - logistics", 9},
    {B(D_OPERATIONS), "Shipment {N} delayed", 10},
    {B(D_OPERATIONS), "Supplier audit {M}", 10},
    {B(D_IT), "Laptop refresh {M}", 11},
    {B(D_IT), "Planned maintenance {D}", 11},
    {B(D_IT) | B(D_SECURITY), "MFA rollout phase {N}", 11},
    {B(D_SUPPORT), "Ticket {N}: cannot log in", 12},
    {B(D_SUPPORT), "Knowledge base update", 12},
    {B(D_LEGAL) | B(D_FINANCE),
     "\xc3\x9c"
     "berpr\xc3\xbc"
     "fung der Vertr\xc3\xa4ge {Q}",
     3},
    {B(D_SALES) | B(D_MARKETING), "R\xc3\xa9union de suivi \xe2\x80\x93 {P}", 6},
    {B(D_FINANCE), "Presupuesto {Q} \xe2\x80\x93 revisi\xc3\xb3n", 7},
    {B(D_EXEC) | B(D_SALES), "\xe5\x87\xba\xe5\xbc\xb5\xe5\xa0\xb1\xe5\x91\x8a {P}", 1},
    {B(D_SALES), "Angebot f\xc3\xbcr {P} (Entwurf)", 6},
    {0, "Caf\xc3\xa9 catch-up {D} \xe2\x98\x95", 4},
};
const uint16_t sim_ntopics = sizeof topics / sizeof topics[0];

static const char *const projects[] = {
    "Atlas",    "Borealis", "Cobalt",   "Delta", "Everest",  "Falcon",   "Granite", "Helios",
    "Ironwood", "Juniper",  "Kestrel",  "Lumen", "Meridian", "Nimbus",   "Orion",   "Pioneer",
    "Quartz",   "Redwood",  "Sapphire", "Titan", "Umbra",    "Vanguard", "Willow",  "Zephyr",
};
static const char *const days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"};
static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const cities[] = {"London",    "Munich",  "New York", "Paris",
                                     "Singapore", "Toronto", "Madrid",   "Tokyo"};

static void fill(struct sim_tx *t, const char *tpl, uint64_t seed)
{
    uint64_t s = seed;
    for (const char *p = tpl; *p; p++) {
        if (p[0] != '{' || !p[1] || p[2] != '}') {
            sim_tx_c(t, *p);
            continue;
        }
        uint64_t h = sim_splitmix64(&s);
        switch (p[1]) {
        case 'P':
            sim_tx_s(t, projects[h % 24]);
            break;
        case 'Q':
            sim_tx_c(t, 'Q');
            sim_tx_u64(t, 1 + h % 4);
            sim_tx_c(t, ' ');
            sim_tx_u64(t, 2023 + (h >> 8) % 2);
            break;
        case 'N':
            sim_tx_u64(t, 1000 + h % 9000);
            break;
        case 'D':
            sim_tx_s(t, days[h % 5]);
            break;
        case 'M':
            sim_tx_s(t, months[h % 12]);
            break;
        case 'C':
            sim_tx_s(t, cities[h % 8]);
            break;
        default:
            sim_tx_put(t, p, 3);
            break;
        }
        p += 2;
    }
}

uint16_t sim_text_topic(struct sim_rng *r, int dept)
{
    for (int tries = 0; tries < 16; tries++) {
        uint16_t k = (uint16_t)sim_rng_below(r, sim_ntopics);
        if (!topics[k].depts || (topics[k].depts & B(dept))) {
            /* department topics twice as likely as generic ones */
            if (!topics[k].depts && sim_rng_chance(r, 0.5)) continue;
            return k;
        }
    }
    return (uint16_t)sim_rng_below(r, 6);
}

void sim_text_subject(struct sim_tx *t, uint16_t topic, uint64_t seed)
{
    fill(t, topics[topic % sim_ntopics].subject, seed);
}

bool sim_text_topic_ascii(uint16_t topic)
{
    for (const char *p = topics[topic % sim_ntopics].subject; *p; p++)
        if ((unsigned char)*p >= 0x80) return false;
    return true;
}

static const char *const paras[13][6] = {
    {"Can you take a look at the latest numbers for {P} before {D}? I want to make sure we are "
     "aligned before the review.",
     "I went through the notes from last week and there are two open items on {P} that still "
     "need an owner.",
     "Thanks for the update. Let's keep the current plan and revisit it on {D}.",
     "Attached is the summary we discussed. Happy to walk through it if that helps.",
     "Could you confirm the dates? The team in {C} is waiting for the final schedule.",
     "No rush on this one, but it would be good to close it out by the end of {M}."},
    {"Please treat this as confidential until the announcement. The board pack for {Q} is "
     "nearly final.",
     "The offsite will be in {C}. I would like each of you to bring three priorities for the "
     "next two quarters.",
     "Revenue came in ahead of plan; margins are slightly below. Details in the deck.",
     "We need a decision on {P} before the next board meeting. Legal has reviewed the draft.",
     "Let's keep the distribution list small for now.",
     "I will share the investor letter once the numbers are signed off."},
    {"The user reported a suspicious message with a link to a credential page. We blocked the "
     "sender domain and purged 14 copies.",
     "The scan found 3 high and 11 medium findings. None are internet-facing; patches are "
     "scheduled for {D}.",
     "Please review the rule change for ticket {N}. It opens port 443 from the partner range "
     "only.",
     "Scope for the engagement: external perimeter and the {P} web application. No social "
     "engineering.",
     "MFA coverage is now at 97 percent. The remaining accounts are service accounts under "
     "review.",
     "We rotated the keys for the {P} integration after the contractor left."},
    {"Attached are our comments on the draft. The limitation of liability clause still needs "
     "work.",
     "This message is privileged and confidential. Please do not forward.",
     "The counterparty accepted most of our redlines; two points remain open on indemnities.",
     "Please preserve all documents related to {P} until further notice.",
     "Can we schedule 30 minutes on {D} to go through the NDA?",
     "Signature pages will follow once both sides have approved the final version."},
    {"Are you free on {D}? There is a new place near the office.",
     "I am out of the office until {D} with limited access to email.", "Sounds good, see you then.",
     "Thanks!", "Let me know what works for you.", "Coffee is on me this time."},
    {"The release candidate for {P} passed all integration tests. Sign-off needed by {D}.",
     "I added comments to the design document; the caching layer needs a clearer eviction "
     "policy.",
     "The nightly build fails on the {P} module since the dependency update.",
     "Root cause: a configuration change was deployed without the feature flag. Timeline "
     "below.",
     "Please review the pull request when you have a moment.",
     "We should add a regression test for this case."},
    {"Please find our proposal for {P} attached. Pricing is valid until the end of {M}.",
     "The customer asked for a 12 percent discount; I think we can offer 8 with a two-year "
     "term.",
     "The account in {C} escalated ticket {N} again. Can we get an engineer on a call?",
     "Pipeline for {M} looks healthy; three deals are in legal review.",
     "I will send the revised quote tomorrow.",
     "They want a reference customer in their industry."},
    {"Invoice {N} is 45 days overdue. Could you check with the customer?",
     "The revised budget for {Q} is attached; travel is down 10 percent.",
     "Please submit your expense reports for {M} by Friday.",
     "The wire for {N} needs a second approver before 3 pm.",
     "Accruals are booked; we close the month on {D}.",
     "Can you send me the PO number for this order?"},
    {"Please find the offer letter attached for your review before we send it.",
     "Open enrolment closes on {D}. Remember to confirm your benefits selection.",
     "Interviews are scheduled for {D}; the panel invites are out.",
     "The new starter begins on {D}. Laptop and access requests are submitted.",
     "Please complete the annual compliance training by the end of {M}.",
     "Thanks for your feedback on the candidate."},
    {"Here is the brief for the {P} campaign. Launch is planned for {M}.",
     "Draft press release attached. Legal needs to approve the customer quote.",
     "Booth logistics for {C} are confirmed; shipping leaves on {D}.",
     "The webinar had 340 registrations and 190 attendees.",
     "Can you review the copy for the landing page?", "New brand assets are in the shared folder."},
    {"Shipment {N} is delayed at customs; new ETA is {D}.",
     "The supplier audit is scheduled for {M}. Please prepare the documents.",
     "Warehouse inventory count is complete; two discrepancies found.",
     "The facilities team will replace the badge readers on {D}.",
     "Please update the delivery schedule in the tracker.",
     "Carrier rates increase by 4 percent next quarter."},
    {"Laptops older than four years will be replaced in {M}. Please book a slot.",
     "Planned maintenance on {D} evening: email may be unavailable for 30 minutes.",
     "Phase {N} of the MFA rollout starts on {D}. Users will be prompted to register.",
     "The VPN client update is available in the company portal.",
     "Please restart your machine to apply the security update.",
     "We are retiring the old file server at the end of {M}."},
    {"The customer cannot log in since the password reset. I asked them to clear the cache.",
     "Knowledge base article {N} is updated with the new screenshots.",
     "Escalating to tier 2: the issue reproduces on the latest version.",
     "Customer confirmed the fix works. Closing the ticket.",
     "Response time this week: 2.1 hours median.",
     "Please tag these tickets with the product area."},
};

void sim_text_body(struct sim_tx *t, uint16_t topic, uint64_t seed)
{
    uint8_t fam = topics[topic % sim_ntopics].para;
    uint64_t s = seed;
    uint32_t n = 1 + (uint32_t)(sim_splitmix64(&s) % 3);
    uint32_t first = (uint32_t)(sim_splitmix64(&s) % 6);
    for (uint32_t i = 0; i < n; i++) {
        if (i) SIM_LIT(t, "\n\n");
        fill(t, paras[fam][(first + i * 5) % 6], sim_splitmix64(&s));
    }
}

static const char *const attach[][2] = {
    {"forecast.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"contract-draft.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"board-deck.pptx",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"invoice.pdf", "application/pdf"},
    {"scan.pdf", "application/pdf"},
    {"photo.jpg", "image/jpeg"},
};

void sim_text_attachment(struct sim_rng *r, const char **name, const char **ctype)
{
    size_t k = (size_t)sim_rng_below(r, sizeof attach / sizeof attach[0]);
    *name = attach[k][0];
    *ctype = attach[k][1];
}

static const char *const words[3][24] = {
    {"Northwind",      "Fabrikam",  "Tailspin",    "Woodgrove",  "Litware", "Proseware",
     "Adatum",         "Alpine",    "Blue Yonder", "Coho",       "Contoso", "Fourth Coffee",
     "Graphic Design", "Humongous", "Lucerne",     "Margie",     "Nod",     "Relecloud",
     "Southridge",     "Trey",      "VanArsdel",   "Wide World", "Wingtip", "Datum"},
    {"Traders",  "Logistics",  "Insurance", "Bank",     "Airlines", "Energy",
     "Partners", "Consulting", "Pharma",    "Media",    "Systems",  "Holdings",
     "Labs",     "Foods",      "Motors",    "Capital",  "Health",   "Works",
     "Group",    "Studios",    "Analytics", "Robotics", "Retail",   "Ventures"},
    {"Sync",     "Connector", "Portal",    "Reporting",    "Bridge",    "Scheduler",
     "Gateway",  "Exporter",  "Importer",  "Automation",   "Dashboard", "Integration",
     "Notifier", "Archiver",  "Collector", "Provisioning", "Workflow",  "Insights",
     "Monitor",  "Agent",     "Hub",       "Relay",        "Loader",    "Service"},
};

const char *sim_text_word(struct sim_rng *r, int set)
{
    return words[set % 3][sim_rng_below(r, 24)];
}
