# The cutover runbook's steps as one-liners over the tools (`just --list`).
# Build the tools first: `just build`. Paths and hosts below are the runbook's; override any of
# them on the command line, e.g. `just data_repo=/tmp/data.git t1-import-dry-run`.

bin := "target/release"
source_host := "codeforphilly.org"
data_repo := env_var_or_default("CFP_DATA_REPO_PATH", "/scratch/codeforphilly-data")
staging := "https://codeforphilly-rewrite-staging.k8s.phl.io"
target := "https://codeforphilly.org"
scratch := "/scratch"
credentials := "/scratch/laddr-credentials.csv"
# One sent-log for every campaign: nobody gets the same campaign twice.
mail_log := "/scratch/mailout-sent.ndjson"

# Build every tool (release).
build:
    cargo build --release --bins

# Release binaries, shell completions and man pages in target/dist/ (for a machine without the source).
dist:
    cargo xtask dist

# The whole pipeline on the bundled fixture site (the README's main command).
dry-run-fixture:
    cargo xtask dry-run

# T-3: full staging rehearsal against live laddr; every stage must be true.
t3-rehearsal:
    cargo xtask dry-run --source-host={{source_host}} --data-repo={{scratch}}/dry-run-data --target={{staging}} --json={{scratch}}/dry-run-T3.json --html={{scratch}}/dry-run-T3.html

# T-3: which old laddr links would break on staging.
t3-legacy-urls:
    {{bin}}/laddr-fetch --source-host={{source_host}} --resources=people,projects,project-updates,project-buzz > {{scratch}}/laddr-T3.ndjson
    {{bin}}/probe legacy-urls --laddr={{scratch}}/laddr-T3.ndjson --data-repo={{scratch}}/dry-run-data --target={{staging}} --json={{scratch}}/legacy-T3.json

# T-3: the exact 301s an ingress should serve for the links that break (nginx map + .json);
# serve them, then run it again: exit 0 when every link lands.
t3-legacy-redirects:
    {{bin}}/probe legacy-urls --laddr={{scratch}}/laddr-T3.ndjson --data-repo={{scratch}}/dry-run-data --target={{staging}} --emit-redirects={{scratch}}/legacy-redirects.conf --json={{scratch}}/legacy-T3.json

# T-3 step 3: Slack SAML continuity (every slackSamlNameId against the laddr Username).
t3-nameids:
    {{bin}}/laddr-fetch --source-host={{source_host}} --resources=people > {{scratch}}/people-T3.ndjson
    {{bin}}/reconcile nameids --laddr={{scratch}}/people-T3.ndjson --data-repo={{data_repo}} --json={{scratch}}/nameids-T3.json

# T-1 step 2: the production import, dry run (reads the repo, writes nothing).
t1-import-dry-run:
    {{bin}}/laddr-fetch --source-host={{source_host}} --cache-dir={{scratch}}/cache-T1 --json={{scratch}}/fetch-T1.json | {{bin}}/sheet-write --data-repo={{data_repo}} --branch=legacy-import --source-host={{source_host}} --dry-run --json={{scratch}}/import-T1-dry.json

# T-1 step 4: the production import, for real (one commit per changed sheet on legacy-import).
t1-import:
    {{bin}}/laddr-fetch --offline --cache-dir={{scratch}}/cache-T1 | {{bin}}/sheet-write --data-repo={{data_repo}} --branch=legacy-import --source-host={{source_host}} --json={{scratch}}/import-T1.json

# T-1: merge the legacy credentials export into the private store (dry run first).
t1-credentials-dry-run:
    {{bin}}/reconcile import-credentials --input={{credentials}} --data-repo={{data_repo}} --dry-run --json={{scratch}}/credentials-T1-dry.json

t1-credentials:
    {{bin}}/reconcile import-credentials --input={{credentials}} --data-repo={{data_repo}} --json={{scratch}}/credentials-T1.json

# T-1 step 7: spam prune of the runtime branch, dry run, then for real.
prune-dry-run:
    {{bin}}/spam-prune --data-repo={{data_repo}} --evaluations-ref=spam-detection --branch=published --dry-run --json={{scratch}}/prune-dry.json

prune:
    {{bin}}/spam-prune --data-repo={{data_repo}} --evaluations-ref=spam-detection --branch=published --json={{scratch}}/prune.json

# T-1 step 8 (and T+7, weekly): every orphan/inconsistent counter must be zero (exit 1 otherwise).
reconcile:
    {{bin}}/reconcile --data-repo={{data_repo}} --json={{scratch}}/reconcile-T1.json

# T-1 step 10: smoke-test production before the DNS flip (pin the host to the ingress IP).
t1-smoke ingress_ip:
    {{bin}}/probe --target={{target}} --resolve=codeforphilly.org:443:{{ingress_ip}} --data-repo={{data_repo}} --json={{scratch}}/smoke-T1.json

# Pre-cutover checklist: every item a machine can check (exit 1 if any fails), then the manual list.
# Resolvers to ask as extra flags, e.g. `just preflight --resolver=<ns1> --resolver=<ns2>`.
preflight *flags:
    {{bin}}/cutover preflight --public-url={{target}} {{flags}} --dry-run-report={{scratch}}/dry-run-T3.json --data-repo={{data_repo}} --json={{scratch}}/preflight.json

# T-0 0:01: the final delta: fetch | import, merge into published, prune, reconcile. Never pushes.
t0-delta:
    cargo xtask t0-delta --source-host={{source_host}} --data-repo={{data_repo}} --import-branch=legacy-import --runtime-branch=published --work-dir={{scratch}}/t0-delta --json={{scratch}}/t0-delta.json

# T-0 0:10: verify from this network.
t0-verify network:
    {{bin}}/probe --target={{target}} --data-repo={{data_repo}} --seed=t0 --json={{scratch}}/smoke-T0-{{network}}.json

# T-0 0:15 onward: one line a minute until the first real-user write lands (then exit 1).
t0-watch:
    {{bin}}/cutover watch --data-repo={{data_repo}} --t0-report={{scratch}}/t0-delta/report.json --follow --interval=60s

# Rollback after users wrote: export every write since T-0 and the affected members.
rollback-export:
    {{bin}}/cutover rollback export --data-repo={{data_repo}} --t0-report={{scratch}}/t0-delta/report.json --out={{scratch}}/rollback

# Rollback: move the runtime branch back to the post-import tip (CAS); prints the push, never pushes.
rollback-reset:
    {{bin}}/cutover rollback reset --data-repo={{data_repo}} --export={{scratch}}/rollback --apply --json={{scratch}}/rollback/reset.json

# T+0 to T+1h: health every minute, readiness and smoke every five; exit 1 on an alarm.
t1h-watch:
    {{bin}}/probe watch --target={{target}} --interval=60s --duration=1h --data-repo={{data_repo}} --json={{scratch}}/watch-T1h.json > {{scratch}}/watch-T1h.ndjson

# T-7 step 1: the announcement to every member (newsletter opt-outs included); review the
# samples in {{scratch}}/mail-samples, then send (RESEND_API_KEY in the environment).
t7-announce-dry-run cutover_date:
    {{bin}}/laddr-fetch --source-host={{source_host}} --resources=people > {{scratch}}/people-T7.ndjson
    {{bin}}/mailer send --dry-run --campaign=t7-announcement --cutover-date={{cutover_date}} --laddr={{scratch}}/people-T7.ndjson --data-repo={{data_repo}} --sent-log={{mail_log}} --render-dir={{scratch}}/mail-samples --json={{scratch}}/t7-dry.json

t7-announce cutover_date:
    {{bin}}/mailer send --send --campaign=t7-announcement --cutover-date={{cutover_date}} --laddr={{scratch}}/people-T7.ndjson --data-repo={{data_repo}} --sent-log={{mail_log}} --json={{scratch}}/t7-send.json

# T+90: the reminder mailout, dry run, then for real (RESEND_API_KEY in the environment).
mailout-dry-run:
    {{bin}}/mailer send --dry-run --campaign=t90-reminder --laddr={{scratch}}/people-T3.ndjson --data-repo={{data_repo}} --sent-log={{mail_log}} --render-dir={{scratch}}/mail-samples --json={{scratch}}/mailout-dry.json

mailout-send:
    {{bin}}/mailer send --send --campaign=t90-reminder --laddr={{scratch}}/people-T3.ndjson --data-repo={{data_repo}} --sent-log={{mail_log}} --json={{scratch}}/mailout-send.json

# T+90 step 4 (and after any mailing): bounces and complaints per campaign, bounced members as NDJSON.
mail-bounces:
    {{bin}}/mailer bounces --sent-log={{mail_log}} --json={{scratch}}/bounces.json > {{scratch}}/bounced.ndjson

# T+180: the info-only notice to members whose legacy password the drain will delete (before it).
t180-notice-dry-run:
    {{bin}}/mailer send --dry-run --campaign=t180-drain-notice --older-than=180d --data-repo={{data_repo}} --sent-log={{mail_log}} --render-dir={{scratch}}/mail-samples --json={{scratch}}/t180-dry.json

t180-notice:
    {{bin}}/mailer send --send --campaign=t180-drain-notice --older-than=180d --data-repo={{data_repo}} --sent-log={{mail_log}} --json={{scratch}}/t180-send.json

# After a partial-write rollback: the apology to the members whose writes were discarded.
rollback-apology-dry-run affected:
    {{bin}}/mailer send --dry-run --campaign=rollback-apology --affected={{affected}} --data-repo={{data_repo}} --sent-log={{mail_log}} --render-dir={{scratch}}/mail-samples --json={{scratch}}/rollback-apology-dry.json

rollback-apology affected:
    {{bin}}/mailer send --send --campaign=rollback-apology --affected={{affected}} --data-repo={{data_repo}} --sent-log={{mail_log}} --json={{scratch}}/rollback-apology-send.json

# T+180: drain the legacy credentials of unclaimed people, dry run, then for real.
drain-dry-run:
    {{bin}}/reconcile drain-legacy --older-than=180d --data-repo={{data_repo}} --json={{scratch}}/drain-dry.json

drain:
    {{bin}}/reconcile drain-legacy --older-than=180d --apply --data-repo={{data_repo}} --json={{scratch}}/drain.json
