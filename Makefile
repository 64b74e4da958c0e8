# Atrium — every task a developer, CI or SAM runs.
# Prerequisites: Go, a Java 17 JDK and Node.js with npm. Everything else is installed
# from the package registries by `make tools`, which the other targets call.

SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/.bin
BUILD := $(CURDIR)/.build
FUNCTIONS := $(notdir $(wildcard functions/*))
LOCAL := $(GO) run ./infra/local/cmd/atrium-local
# Lambda builds (provided.al2023 on arm64): the flags are in infra/sam/Makefile.

.PHONY: help tools chromium run test vet staticcheck openapi-lint lint bench build check-deploy check-sam deploy clean

help:
	@echo "make run           start the local stack (API on :3000, Mailpit UI on :8025)"
	@echo "make test          vet, staticcheck, openapi-lint and every test against real local services"
	@echo "make vet           go vet"
	@echo "make staticcheck   staticcheck"
	@echo "make openapi-lint  lint the API contract with Redocly CLI"
	@echo "make lint          gosec"
	@echo "make bench         benchmarks, each package at its own -benchtime (login vs bare argon2id, zip sizes,"
	@echo "                   init times, deletion, sweep, cost per flow and the memory model): about 11 min"
	@echo "make build         one bootstrap zip per function in .build/ (arm64)"
	@echo "make check-deploy  before deploying: template checks, the parameters and their meaning, the SAM CLI version"
	@echo "make check-sam     the SAM CLI alone: installed, at the version README.md names"
	@echo "make deploy        check the SAM CLI, then sam build && sam deploy --guided"
	@echo "make tools         install the pinned tools into .bin and DynamoDB Local (the other targets call it)"
	@echo "make chromium      install headless Chromium for the dashboard's browser tests"
	@echo "make clean         remove .build"

# --- tools -------------------------------------------------------------------
# Pinned in infra/tools/go.mod (tool directives) and infra/local/package-lock.json
# (DynamoDB Local and Redocly CLI).
TOOL_BINS := $(BIN)/mailpit $(BIN)/aws-lambda-rie $(BIN)/stripe-mock $(BIN)/staticcheck $(BIN)/gosec
DDB_LOCAL := infra/local/node_modules/.package-lock.json

tools: $(TOOL_BINS) $(DDB_LOCAL)
	@$(GO) mod download

$(TOOL_BINS) &: infra/tools/go.mod infra/tools/go.sum
	@echo "installing pinned tools into .bin (first time: a few minutes)"
	cd infra/tools && GOBIN=$(BIN) $(GO) install tool
	@touch $(TOOL_BINS)

$(DDB_LOCAL): infra/local/package.json infra/local/package-lock.json
	npm ci --prefix infra/local --no-audit --no-fund
	@touch $(DDB_LOCAL)

# Headless Chromium for the dashboard's browser tests (infra/dashboard/browsertest):
# Debian's package, installed when missing where we can (root with apt-get).
chromium:
	@if [ -n "$$ATRIUM_CHROMIUM" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "make test needs headless Chromium for the dashboard's browser tests: install Debian's chromium" >&2; \
		echo "(sudo apt-get install chromium) or set ATRIUM_CHROMIUM to a Chrome or Chromium binary" >&2; exit 1; \
	fi

# --- local stack -----------------------------------------------------------------
# The built binary, not go run: go run exits 1 when interrupted whatever its
# program does, and make reported Ctrl-C as an error. atrium-local exits 0 on it.
run: tools
	@$(GO) build -o $(BUILD)/atrium-local ./infra/local/cmd/atrium-local
	$(BUILD)/atrium-local run

# --- checks ------------------------------------------------------------------
vet:
	$(GO) vet ./...

staticcheck: tools
	$(BIN)/staticcheck ./...

# The API contract (infra/openapi/openapi.yaml) linted by Redocly CLI, with the
# rules and the one explained exception in infra/openapi/redocly.yaml.
openapi-lint: $(DDB_LOCAL)
	cd infra/openapi && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true ../local/node_modules/.bin/redocly lint --config redocly.yaml openapi.yaml

test: tools chromium vet staticcheck openapi-lint
	$(LOCAL) exec -- $(GO) test -race -count=1 -timeout 30m ./...

lint: tools
	$(BIN)/gosec -quiet ./...

# Every benchmark package with its own -benchtime, so that each benchmark gets
# enough iterations for a stable median (a login ~45 ms: 200; a whole deletion
# ~0.1 s: 20) or runs the fixed number it is written for (init, zip sizes and
# peak memory measure fresh processes on each call: 1x; the sweep seeds
# 100,000 items: 1x). One stack for all of it. About 11 minutes on the 2-core
# development machine (2026-12-07), 7 of them the sweep's seeding.
BENCH := $(GO) test -run='^$$' -benchmem -count=1
bench: tools
	$(LOCAL) exec -- $(SHELL) -ec "\
	$(BENCH) -bench=. -benchtime=200x ./functions/auth/authapi/; \
	$(BENCH) -bench=. -benchtime=400x ./functions/stripewebhook/stripewebhookapi/; \
	$(BENCH) -bench=. -benchtime=2s ./shared/password/; \
	$(BENCH) -bench=. -benchtime=20x ./shared/deletion/runner/; \
	$(BENCH) -bench=. -benchtime=1x ./shared/requestlog/; \
	$(BENCH) -bench=. -benchtime=10x ./infra/local/gateway/; \
	$(BENCH) -bench=. -benchtime=1x -timeout=20m ./infra/lambdatest/; \
	$(BENCH) -bench=. -benchtime=1x ./infra/cost/"

# --- build and deploy --------------------------------------------------------
build: $(addprefix $(BUILD)/,$(addsuffix .zip,$(FUNCTIONS)))

$(BUILD)/%.zip: FORCE
	@mkdir -p $(BUILD)/$*
	@$(MAKE) --no-print-directory -f infra/sam/Makefile bootstrap-$* ARTIFACTS_DIR=$(BUILD)/$* GO=$(GO)
	cd $(BUILD)/$* && rm -f ../$*.zip && $(GO) run $(CURDIR)/infra/zipbootstrap ../$*.zip bootstrap

FORCE:

# SAM (BuildMethod: makefile) runs infra/sam/Makefile's build-<LogicalId>: every
# function's CodeUri is infra/sam, so SAM copies that Makefile, not the checkout.

# What an operator runs before deploying (README.md, Deploying): the project's own
# template checks (infra/cfn), the parameters with their Description, and the SAM CLI.
check-deploy:
	@$(GO) run ./infra/cmd/check-deploy

# make deploy stops here, with how to install it, when the SAM CLI is missing or too old.
check-sam:
	@$(GO) run ./infra/cmd/check-deploy -sam-only

deploy: check-sam
	sam build && sam deploy --guided

clean:
	rm -rf $(BUILD)
