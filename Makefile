# clv: the two commands a user needs are `make demo` (the main job on the default scenario)
# and `make test` (format check, clippy -D warnings, every crate's tests). Both obtain
# libtorch themselves (scripts/setup-libtorch.sh, cached outside the clone) and build in release.

CARGO ?= cargo
# One profile for everything, so that libtorch's C++ glue and tch compile once.
PROFILE := --release
export CARGO_TERM_COLOR ?= auto

.PHONY: demo test setup build fmt clippy unit bench clean-cache

## The main job on the default scenario.
demo: build
	./target/release/clv demo scenarios/default.ron

## Every test: formatting, clippy with -D warnings, all crates' tests.
test: setup fmt clippy unit

setup:
	@bash scripts/setup-libtorch.sh

build: setup
	$(CARGO) build $(PROFILE) --workspace --locked

fmt:
	$(CARGO) fmt --all -- --check

clippy: setup
	$(CARGO) clippy $(PROFILE) --workspace --all-targets --locked -- -D warnings

unit: setup
	$(CARGO) test $(PROFILE) --workspace --locked

bench: build
	$(CARGO) bench --workspace --locked

## Remove the cached libtorch (it is re-fetched on the next build).
clean-cache:
	rm -rf "$${CLV_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/clv}" .libtorch
