# Mailing service. `make run` starts it on the local PostgreSQL; `make test`
# runs every module's tests against the local PostgreSQL, and the admin
# UI's unit and browser tests. The modules are the services' (shared,
# api-service, sender-worker) and the measuring tools' (bench); the admin
# UI (api-service/web) is built with Node.js and embedded into bin/api.
SHELL := /bin/bash
MODULES := shared api-service sender-worker bench
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
SWAG := go run github.com/swaggo/swag/cmd/swag@v1.16.6
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2
SWAG_FLAGS := init -g cmd/api/main.go --parseDependency --parseInternal --outputTypes go,json,yaml --quiet

# Development configuration of `make run`: a fixed dev JWT secret and a
# documented admin account. Never use these values in production.
DEV_ENV := APP_ENV=dev ADMIN_USERNAME=admin ADMIN_PASSWORD=admin-password LOG_FORMAT=text
# The API's OpenID sign-in through dev-oidc: the client, secret and
# redirect URI of deploy/dev-oidc/users.json and its groups mapped to
# roles. Public development values, like everything in that file.
DEV_OIDC_ENV := OIDC_ISSUER=http://localhost:8091/ OIDC_CLIENT_ID=mailing-api \
	OIDC_CLIENT_SECRET=public-dev-secret-mailing-api OIDC_REDIRECT_URL=http://localhost:8080/auth/oidc/callback \
	OIDC_ROLE_MAP=mailing-admins=admin,mailing-operators=operator,mailing-viewers=viewer \
	OIDC_POST_LOGOUT_REDIRECT_URL=http://localhost:8080/admin/

# The admin UI. Node.js and npm are needed to build it, never for the Go
# modules: without them bin/api serves /admin/ as a page saying how to
# build it, and the UI's checks and tests are skipped with a message. In
# CI (CI=true) a missing Node.js is an error: the UI is always checked there.
WEB := api-service/web
HAVE_NODE := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)
NO_NODE = if [ -n "$$CI" ]; then echo "== Node.js and npm are required in CI (the admin UI is built and tested)"; exit 1; fi; \
	echo "== Node.js and npm not found: $(1) skipped (install Node.js 20.19+ to build and test the admin UI)"
# Where the browser tests write a screenshot of every page they visit.
SCREENSHOTS := $(CURDIR)/test-artifacts/screenshots

.PHONY: build run migrate test lint docs docs-check fmt clean bench web web-gen web-check web-test e2e

build: web
	@mkdir -p bin
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/api ./api-service/cmd/api
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/worker ./sender-worker/cmd/worker
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/probe-sim ./sender-worker/cmd/probe-sim
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/dev-oidc ./api-service/cmd/dev-oidc

migrate: build
	$(DEV_ENV) bin/api migrate

# Starts probe-sim (the external API stand-in), the development OpenID
# Provider, one worker and the API together, signing people in through
# that provider; prints where everything is once the ports answer. Ctrl-C
# stops all four.
run: build
	$(DEV_ENV) bin/api migrate
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	export PROBE_TOKEN=$$(bin/probe-sim token); \
	bin/probe-sim & \
	LOG_FORMAT=text bin/dev-oidc & \
	$(DEV_ENV) bin/worker & \
	$(DEV_ENV) $(DEV_OIDC_ENV) bin/api & \
	up=; for i in $$(seq 150); do \
		if (: </dev/tcp/127.0.0.1/8080 && : </dev/tcp/127.0.0.1/8091 && : </dev/tcp/127.0.0.1/8090) 2>/dev/null; then up=1; break; fi; \
		sleep 0.2; \
	done; \
	if [ -n "$$up" ]; then $(RUN_BANNER); else echo '== :8080, :8091 or :8090 still does not answer after 30 s: see the log above'; fi; \
	wait

# What `make run` prints once it is up.
RUN_BANNER := printf '%s\n' '' \
	'== mailing is running; Ctrl-C stops everything' \
	'   admin UI    http://localhost:8080/admin/$(if $(HAVE_NODE),, (not built: Node.js was not found))' \
	'   API         http://localhost:8080 (Swagger UI at http://localhost:8080/docs/)' \
	'   local admin admin / admin-password' \
	'   sign in     http://localhost:8080/auth/oidc/login, through dev-oidc at http://localhost:8091/, as' \
	'               admin / public-dev-password-admin (role admin)' \
	'               operator / public-dev-password-operator (role operator)' \
	'               viewer / public-dev-password-viewer (role viewer)' \
	'   probe-sim   http://localhost:8090 (what reached it: curl localhost:8090/control/deliveries)' \
	''

# Measures the whole service against the physical limit on this machine:
# its own database, broker prefix, probe-sim, API and workers; prints a
# Markdown table and writes bench/results/<time>.json. Smaller runs:
# make bench BENCH_FLAGS="-customers 20000".
BENCH_FLAGS ?=
bench: build
	go run ./bench/cmd/pipebench $(BENCH_FLAGS)

# One go test over every workspace module, so the packages of all of them
# share the scheduler: the long end-to-end packages overlap the rest. Then
# the admin UI's unit tests and its browser tests against the binaries
# just built.
test: build
	@echo "== go test $(MODULES)"
	go test -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@echo "== go test deploy"
	cd deploy && GOWORK=off go test -count=1 ./...
	@$(MAKE) --no-print-directory web-test e2e

# npm ci when package-lock.json changed since the last install.
$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

# Builds the admin UI into api-service/web/dist (embedded by go build).
web:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB)/node_modules/.package-lock.json
	@echo "== build the admin UI ($(WEB)/dist)"
	cd $(WEB) && npm run build
else
	@$(call NO_NODE,building the admin UI)
endif

# Regenerates the admin UI's API types from the OpenAPI description.
web-gen:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npm run gen:api
else
	@$(call NO_NODE,regenerating the admin UI's API client)
endif

# Fails when the UI's generated API types are out of date with the OpenAPI
# description (regenerated into a temporary folder and diffed), or the UI
# does not type-check or lint.
web-check:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB)/node_modules/.package-lock.json
	@echo "== admin UI: API client up to date, types, lint"
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	(cd $(WEB) && node scripts/gen-api.mjs --out $$tmp/schema.gen.ts) && \
	if ! diff -u $(WEB)/src/api/schema.gen.ts $$tmp/schema.gen.ts > $$tmp/diff; then \
		head -n 40 $$tmp/diff; \
		echo "$(WEB)/src/api/schema.gen.ts is out of date with api-service/docs/swagger.yaml: run 'make docs' (or 'make web-gen') and commit the result"; exit 1; \
	fi
	cd $(WEB) && npm run --silent typecheck && npm run --silent lint
else
	@$(call NO_NODE,checking the admin UI)
endif

# The admin UI's unit tests (Vitest).
web-test:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB)/node_modules/.package-lock.json
	@echo "== admin UI unit tests (vitest)"
	cd $(WEB) && npm test
else
	@$(call NO_NODE,the admin UI's unit tests)
endif

# The admin UI in a real headless Chromium (Playwright) against bin/api,
# bin/worker, bin/probe-sim and bin/dev-oidc on a database and broker
# prefix of their own; screenshots of every page in test-artifacts/screenshots.
e2e:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(WEB)/node_modules/.package-lock.json
	@echo "== admin UI browser tests (playwright, headless chromium); screenshots in $(SCREENSHOTS)"
	E2E_SCREENSHOTS=$(SCREENSHOTS) go test -v -count=1 -tags e2e -timeout 15m ./$(WEB)/e2e/
else
	@$(call NO_NODE,the admin UI's browser tests)
endif

# Go sources of the repository; npm packages may ship Go files of their own.
GO_SOURCES = $(shell find $(MODULES) deploy -name '*.go' -not -path '*/node_modules/*')

lint: docs-check web-check
	@bad=$$(gofmt -l $(GO_SOURCES)); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "== vet + staticcheck $$m"; \
		(cd $$m && go vet ./... && $(STATICCHECK) ./...); \
	done
	@echo "== vet + staticcheck the admin UI's browser test harness (build tag e2e)"
	cd api-service && go vet -tags e2e ./web/e2e/ && $(STATICCHECK) -tags e2e ./web/e2e/
	@echo "== vet deploy"
	cd deploy && GOWORK=off go vet ./...

# Regenerates the OpenAPI description from the handlers' annotations, and
# the admin UI's API types from it.
docs:
	cd api-service && $(SWAG) $(SWAG_FLAGS) -o docs
	@$(MAKE) --no-print-directory web-gen

# Fails when the committed OpenAPI description is out of date.
docs-check:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	(cd api-service && $(SWAG) $(SWAG_FLAGS) -o $$tmp/docs) && \
	if ! diff -r -q api-service/docs $$tmp/docs; then \
		echo "api-service/docs is out of date: run 'make docs' and commit the result"; exit 1; \
	fi

fmt:
	gofmt -w $(GO_SOURCES)

clean:
	rm -rf bin test-artifacts
	find $(WEB)/dist -mindepth 1 ! -name .gitkeep -delete
