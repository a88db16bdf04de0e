# Mailing service. `make run` starts it on the local PostgreSQL; `make test`
# runs every module's tests against the local PostgreSQL. The modules are
# the services' (shared, api-service, sender-worker) and the measuring
# tools' (bench).
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
	OIDC_ROLE_MAP=mailing-admins=admin,mailing-operators=operator,mailing-viewers=viewer

.PHONY: build run migrate test lint docs docs-check fmt clean bench

build:
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
# share the scheduler: the long end-to-end packages overlap the rest.
test:
	@echo "== go test $(MODULES)"
	go test -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))
	@echo "== go test deploy"
	cd deploy && GOWORK=off go test -count=1 ./...

lint: docs-check
	@bad=$$(gofmt -l $(MODULES) deploy); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "== vet + staticcheck $$m"; \
		(cd $$m && go vet ./... && $(STATICCHECK) ./...); \
	done
	@echo "== vet deploy"
	cd deploy && GOWORK=off go vet ./...

# Regenerates the OpenAPI description from the handlers' annotations.
docs:
	cd api-service && $(SWAG) $(SWAG_FLAGS) -o docs

# Fails when the committed OpenAPI description is out of date.
docs-check:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	(cd api-service && $(SWAG) $(SWAG_FLAGS) -o $$tmp/docs) && \
	if ! diff -r -q api-service/docs $$tmp/docs; then \
		echo "api-service/docs is out of date: run 'make docs' and commit the result"; exit 1; \
	fi

fmt:
	gofmt -w $(MODULES)

clean:
	rm -rf bin
