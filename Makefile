# Amazon webhook gateway. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Where `sam build` puts each function; overridden by sam itself.
ARTIFACTS_DIR ?= .aws-sam/build/$(FN)
GO ?= go
# Lambda on provided.al2023, arm64: a static, stripped `bootstrap`. lambda.norpc drops the
# unused RPC mode from aws-lambda-go, which shrinks the binary and its cold start.
# LAMBDA_GOARCH is overridden only by the local stack, which runs the binaries on this machine.
LAMBDA_GOARCH ?= arm64
GO_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w -buildid=' 

# LogicalId in template.yaml -> folder under functions/.
DIR_ShippingOtpFunction := shipping-otp
DIR_ApsFunction := aps-webhook
DIR_AmazonPayIpnFunction := amazon-pay-ipn
DIR_AmazonPaySafelistFunction := amazon-pay-safelist
DIR_ShippingLookupFunction := shipping-lookup
FUNCTIONS := ShippingOtpFunction ApsFunction AmazonPayIpnFunction AmazonPaySafelistFunction ShippingLookupFunction

# moto_server and cfn-lint: the ones on PATH, else the pinned ones that `make tools` puts in $(VENV).
VENV ?= .venv
export VENV
export PATH := $(PATH):$(abspath $(VENV))/bin
PYTHON_TOOLS := moto_server cfn-lint

FN ?= ShippingOtpFunction
EVENT ?= events/shipping-otp-valid.json

.PHONY: help tools build test test-unit lint fmt load logs bench bench-all fuzz run invoke lookup safelist deploy clean generate generate-check $(addprefix build-,$(FUNCTIONS))

help: ## list targets
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# `sam build` calls build-<LogicalId> with ARTIFACTS_DIR set (BuildMethod: makefile).
$(addprefix build-,$(FUNCTIONS)): build-%:
	$(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(DIR_$*)

build: ## build every function into .aws-sam/build/<LogicalId>/bootstrap
	@for fn in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$fn ARTIFACTS_DIR=.aws-sam/build/$$fn || exit 1; done

tools: ## make moto_server and cfn-lint available (PATH, else pinned into $(VENV))
	@bash tools/devtools/ensure.sh $(PYTHON_TOOLS)

test: tools ## run every test (unit, fuzz seeds, integration against a moto_server the tests start)
	$(GO) test -count=1 -race ./...

test-unit: ## the edit loop: every test that needs no moto_server (-short; packages that need it say so)
	$(GO) test -short ./...

lint: tools ## gofmt, go vet, staticcheck, go mod tidy -diff, cfn-lint (parent, generated children, example)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	cfn-lint template.yaml template-*.yaml examples/consumer/template.yaml

# Every generated file, each from its one generator (each also has -check, which writes nothing):
# docs/schemas and template-schemas.yaml (tools/schemas), template-alarms.yaml (tools/alarms),
# the generated APS samples in events/ (tools/apssamples), docs/cost.md's table (tests/calls/costdoc).
# CI fails when this changes anything.
GENERATORS := ./tools/schemas ./tools/alarms ./tools/apssamples ./tests/calls/costdoc
generate: ## write every generated file: schemas, child templates, APS samples, the cost table
	@for g in $(GENERATORS); do $(GO) run $$g || exit 1; done

generate-check: ## exit 1 naming each generated file that differs from its generator's output
	@rc=0; for g in $(GENERATORS); do $(GO) run $$g -check || rc=1; done; exit $$rc

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

# One warm delivery per webhook (tests/bench): each function built as its main.go builds it, AWS
# faked at the SDK's HTTP client, nothing of the product stubbed. Per webhook the median of
# BENCHCOUNT runs of its time, CPU time, B/op, allocs/op and log bytes, its CPU time as an estimate
# at 256 MB, and x-baseline, the delivery / a bare JSON round trip of its body: a reference line,
# not a goal (the budgets that matter are AWS calls, write units, events and log bytes: tests/calls).
BENCHCOUNT ?= 5
bench: ## per webhook, one warm delivery on faked AWS: time, CPU, allocs, log bytes; x-baseline for reference (median of BENCHCOUNT runs)
	@set -o pipefail; $(GO) test -run '^$$' -bench '^Benchmark(Delivery|Ratio)$$' -benchmem -count $(BENCHCOUNT) ./tests/bench | tee /dev/stderr \
	  | $(GO) run ./tests/bench/report
	@echo; echo "verification / Go's own crypto for the same operation (x-crypto):"
	@$(GO) test -run '^$$' -bench 'AgainstGoCrypto$$' ./shared/apssignature ./shared/auth ./shared/oauth ./shared/snsverify \
	  | awk '/^pkg:/ { p = $$2; sub(/.*\/shared\//, "", p) } /^Benchmark/ { n = $$1; sub(/^Benchmark/, "", n); sub(/AgainstGoCrypto/, "", n); sub(/-[0-9]+$$/, "", n); \
	    for (i = 2; i < NF; i++) if ($$(i+1) == "x-crypto") printf "  %-14s %-40s %.2fx\n", p, n, $$i }'

load: tools ## the load test at five times make test's workload: 10,099 deliveries at concurrency 32
	$(GO) test -count=1 -race -run '^TestLoad$$' -v ./tests/load -args -scale=5

bench-all: ## run every benchmark (some need moto_server)
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZTIME ?= 20s
fuzz: ## run every fuzz target for FUZZTIME each (bounded; crashers land in testdata/fuzz)
	@for file in $$(grep -rl --include='*_test.go' '^func Fuzz' shared tools functions); do \
	  pkg=./$$(dirname $$file); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

ADDR ?= 127.0.0.1:3000
# The development JWKS of the OAuth sample: a free port by default, so make run and make invoke can
# run together (the functions get its URL as OAUTH_JWKS_URL).
JWKS_ADDR ?= 127.0.0.1:0
run: tools ## local stack without Docker: moto, real bootstrap binaries, HTTP API on ADDR, event tail
	@$(GO) build -o .aws-sam/localstack ./tools/localstack
	@exec .aws-sam/localstack run -addr $(ADDR) -jwks-addr $(JWKS_ADDR)

# USE_SAM=1 uses `sam local invoke` (needs sam and Docker) instead of the Docker-free runtime.
# The still-valid OTPs of a Shipping sample are sent valid for an hour from now (tools/samples):
# Amazon's example says 2099, beyond ShippingOtpMaxTtlDays, so sent as it is it is quarantined.
# RAW=1 sends the file as it is.
invoke: tools ## invoke FN=<LogicalId> once with EVENT=<file>, like sam local invoke [USE_SAM=1] [RAW=1: TTLs as in the file]
ifeq ($(USE_SAM),1)
	sam build $(FN) && $(if $(filter 1,$(RAW)),,$(GO) run ./tools/samplebody -event $(EVENT) | )sam local invoke $(FN) --event $(if $(filter 1,$(RAW)),$(EVENT),-) --env-vars events/env.json
else
	@$(GO) build -o .aws-sam/localstack ./tools/localstack
	@.aws-sam/localstack invoke -fn $(FN) -event $(EVENT) -jwks-addr $(JWKS_ADDR)$(if $(filter 1,$(RAW)), -raw)
endif

# A SigV4-signed lookup (tools/sigv4get; the AWS CLI cannot sign arbitrary HTTP calls), with the
# AWS credentials of the environment: those `make run` prints for the local stack, or a role with
# the ShippingLookupInvokePolicy for a deployed one (BASE=<ShippingLookupUrl output>).
KIND ?= otps
BASE ?= http://$(ADDR)/shipping/
lookup: ## signed GET of the current OTP (or KIND=tracking) of ID=<trackingId> [BASE=<ShippingLookupUrl>]
	@test -n "$(ID)" || { echo "usage: make lookup ID=<trackingId> [KIND=otps|tracking] [BASE=https://.../shipping/]"; exit 2; }
	@$(GO) run ./tools/sigv4get '$(BASE)$(KIND)/$(ID)'

# Safelist an IPN URL with Amazon Pay. Credentials: SECRET_ID=<Secrets Manager secret with
# {"merchantId","accessKeyId","secretKey"}>, or AMAZON_PAY_MERCHANT_ID/_ACCESS_KEY_ID/_SECRET_KEY.
SANDBOX ?= false
safelist: ## safelist URL=<https IPN url> with Amazon Pay [SECRET_ID=...] [SANDBOX=true]
	@test -n "$(URL)" || { echo "usage: make safelist URL=https://.../amazon-pay/ipn [SECRET_ID=arn] [SANDBOX=true]"; exit 2; }
	$(GO) run ./tools/safelist -url '$(URL)' $(if $(SECRET_ID),-secret-id '$(SECRET_ID)') -sandbox=$(SANDBOX)

# Quarantined and deferred deliveries in PAYLOAD_BUCKET (or ARGS='-bucket <name>'); AWS settings
# from the environment (`make run` prints those of the local stack). Bodies are never printed.
.PHONY: quarantine quarantine-replay redrive
quarantine: ## list quarantined deliveries [ARGS='-webhook shipping' | ARGS='-place deferred|dead'] (more: go run ./tools/quarantine help)
	@$(GO) run ./tools/quarantine list $(ARGS)

quarantine-replay: ## replay quarantined deliveries KEYS="k1 k2" or ALL=1 [ARGS='-webhook aps -dry-run']
	@test -n "$(KEYS)$(filter 1,$(ALL))" || { echo "usage: make quarantine-replay KEYS=\"quarantine/<webhook>/<id>.json ...\" | ALL=1 [ARGS='-webhook W -dry-run']"; exit 2; }
	@$(GO) run ./tools/quarantine replay $(if $(filter 1,$(ALL)),-all) $(ARGS) $(KEYS)

# One re-drive sweep of the deferred deliveries (the local stack has no automatic re-drive; in AWS
# the re-drive queues do it): each one's function re-drives it and deletes it once answered for
# good. Exits 1 unless every one was. KEYS re-drives only those; ARGS='-dead' the dead-lettered.
redrive: ## re-drive every deferred delivery once (quarantine redrive -all) [KEYS="k1 k2"] [ARGS='-webhook aps -dry-run | -dead']
	@$(GO) run ./tools/quarantine redrive $(if $(KEYS),$(KEYS),-all) $(ARGS)

# OTPs valid beyond ShippingOtpMaxTtlDays and tracking states with a future eventTime, planted
# before the gateway bounded them: they make every genuine later OTP or state stale (tools/pins).
# Tables and bound from STACK=<stack> (its outputs and parameter), else OTP_TABLE_NAME and
# TRACKING_TABLE_NAME (`make run` prints the local stack's); AWS settings from the environment.
# The command exits 1 while pins are left (make then fails: "Error 1"), so a cron or CI can alert;
# .aws-sam/pins is the command itself, with its own exit status. See docs/operations.md.
.PHONY: pins
pins: ## report OTPs valid beyond the TTL bound and future tracking states [DELETE=1] [STACK=<stack>] [ARGS='-max-ttl-days 7 -skew 15m']
	@$(GO) build -o .aws-sam/pins ./tools/pins
	@.aws-sam/pins $(if $(filter 1,$(DELETE)),-delete) $(if $(filter-out file undefined,$(origin STACK)),-stack '$(STACK)') $(ARGS)

# make run's switch of the event bus: down, PutEvents answers 503 ServiceUnavailable (APS and
# Amazon Pay defer their deliveries, Shipping answers 503); up, it works again. ADDR as make run.
.PHONY: bus-down bus-up
bus-down: ## make run's event bus unavailable: PutEvents answers 503, deliveries are deferred [ADDR=...]
	@curl -fsS -X POST 'http://$(ADDR)/_localstack/bus/down' || { echo "no local stack on $(ADDR): start make run (or pass its ADDR)"; exit 1; }
bus-up: ## make run's event bus available again (then make redrive) [ADDR=...]
	@curl -fsS -X POST 'http://$(ADDR)/_localstack/bus/up' || { echo "no local stack on $(ADDR): start make run (or pass its ADDR)"; exit 1; }

# Archived gateway events (stack output EventArchiveArn; ARCHIVE or $$EVENT_ARCHIVE_ARN) replayed onto the
# bus for FROM <= time < TO (RFC 3339), to the consumer rule(s) RULE (comma-separated) only, or to
# every rule with ARGS=-all-rules. ARGS='-wait' waits for the end. See docs/operations.md.
.PHONY: replay-events
replay-events: ## replay archived events FROM=<RFC 3339> TO=<RFC 3339> RULE=<rule arn> [ARCHIVE=<arn>] [ARGS='-wait']
	@test -n "$(FROM)" -a -n "$(TO)" -a -n "$(RULE)$(findstring -all-rules,$(ARGS))" || { echo "usage: make replay-events FROM=2026-11-27T08:00:00Z TO=2026-11-27T09:00:00Z RULE=<consumer rule arn> [ARCHIVE=<EventArchiveArn>] [ARGS='-wait | -all-rules | -name N']"; exit 2; }
	@$(GO) run ./tools/replay $(if $(ARCHIVE),-archive '$(ARCHIVE)') -from '$(FROM)' -to '$(TO)' $(if $(RULE),-rule '$(RULE)') $(ARGS)

# A deployed function's logs (its own log group) through SAM CLI 1.106 or later; the caller needs
# lambda:GetFunctionConfiguration. TAIL=1 follows them.
STACK ?= amazon-webhook-gateway-dev
logs: ## a deployed function's logs: FN=<LogicalId> [STACK=<stack>] [TAIL=1]
	sam logs -n $(FN) --stack-name $(STACK) $(if $(filter 1,$(TAIL)),--tail)

# A deployed stack's function variables in events/env.json's shape (tools/envjson), for
# `sam local invoke <LogicalId> -e events/<sample>.json --env-vars events/env.deployed.json` against
# real resources; the caller needs cloudformation:DescribeStackResource and lambda:GetFunctionConfiguration.
# STACK must be given here (the STACK default above is only for logs). See docs/local-stack.md.
.PHONY: env-json
env-json: ## write a deployed stack's function variables for sam local invoke: STACK=<stack> [OUT=events/env.deployed.json]
	@test "$(origin STACK)" != file -a -n "$(STACK)" || { echo "usage: make env-json STACK=<stack> [OUT=events/env.deployed.json]"; exit 2; }
	@$(GO) run ./tools/envjson -stack '$(STACK)' $(if $(OUT),-out '$(OUT)')

deploy: ## sam build and sam deploy (first time: sam deploy --guided)
	sam build && sam deploy

clean: ## remove build output
	rm -rf .aws-sam
