# lxmpp: build, test, sanitizers, fuzzing, benchmarks, lint, install.
# `make test` and `make demo` install missing dependencies first
# (tools/deps.sh), so both work on a fresh Debian or Ubuntu machine: the
# compiler flags come from pkg-config when this file is read, so every
# target that runs deps does the rest in a second make, started after deps
# (.ci/run proves it with .ci/pkg-config-after-deps).

# One interpreter per build: `make LUA_VERSION=5.1` (lua5.1), `make LUA=luajit`
# (LuaJIT 2.1, Lua 5.1's modules), each in its own build directory (5.4, the
# default, in build/, the others in build/<version> and build/luajit).
ifdef LUA
LUA_VERSION ?= $(if $(findstring luajit,$(notdir $(LUA))),5.1,$(patsubst lua%,%,$(notdir $(LUA))))
else
LUA_VERSION ?= 5.4
LUA := lua$(LUA_VERSION)
endif
ifneq ($(findstring luajit,$(notdir $(LUA))),)
LUA_NAME := luajit
LUA_PC ?= luajit
else
LUA_NAME := $(LUA_VERSION)
LUA_PC ?= lua$(LUA_VERSION)
endif
PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
LUA_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUA_DIR ?= $(PREFIX)/share/lua/$(LUA_VERSION)
BUILD ?= $(if $(filter 5.4,$(LUA_NAME)),build,build/$(LUA_NAME))
# The core does not use Lua: the version matrix builds it once.
CORE_BUILD ?= $(BUILD)
FUZZ_TIME ?= 60
BUSTED ?= $(LUA) /usr/bin/busted

PKGS := expat openssl libidn2
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LUA_PC) $(PKGS) 2>/dev/null)
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lunistring
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden \
	$(WARN) $(CFLAGS) $(DEP_CFLAGS) -Icsrc

CORE_SRC := $(sort $(wildcard csrc/*.c))
BIND_SRC := $(sort $(wildcard csrc/lua/*.c))
CTEST_SRC := $(sort $(wildcard spec/c/test_*.c))
FUZZ_SRC := $(sort $(wildcard spec/fuzz/fuzz_*.c))
HEADERS := $(wildcard csrc/*.h csrc/lua/*.h spec/c/*.h spec/fuzz/*.h)

CORE_OBJ := $(CORE_SRC:csrc/%.c=$(CORE_BUILD)/obj/%.o)
BIND_OBJ := $(BIND_SRC:csrc/lua/%.c=$(BUILD)/obj/lua/%.o)
CTESTS := $(CTEST_SRC:spec/c/%.c=$(BUILD)/tests/%)
STATIC_LIB := $(CORE_BUILD)/liblxmpp.a
LUA_MODULE := $(BUILD)/lxmpp/core.so

LUA_ENV = LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" \
	LUA_CPATH="$(BUILD)/?.so;;"

.PHONY: all deps flags test check check-all interop-all ctest spec interop \
	asan fuzz bench \
	bench-run bench-luajit lint demo demo-run install rock rock-one clean fuzz-run-%

all: $(LUA_MODULE) $(STATIC_LIB)

DEPS ?= sh tools/deps.sh
deps:
	@$(DEPS)

# Flags computed before deps installed the packages are empty: say so
# instead of failing on a missing lauxlib.h.
DEP_FOUND := $(shell $(PKG_CONFIG) --exists $(LUA_PC) $(PKGS) && echo y)
flags:
	@test -n "$(DEP_FOUND)" || { echo "make: pkg-config finds no" \
		"$(LUA_PC) $(PKGS): run 'make deps' first" >&2; exit 1; }

$(CORE_BUILD)/obj/%.o: csrc/%.c $(HEADERS) | flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/lua/%.o: csrc/lua/%.c $(HEADERS) | flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(STATIC_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LUA_MODULE): $(BIND_OBJ) $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/tests/%: spec/c/%.c $(STATIC_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Ispec/c -o $@ $< $(STATIC_LIB) $(DEP_LIBS)

# The README's test command: dependencies, then the C unit tests once, the
# busted specs on every Lua installed (two at a time), and the tests
# against real servers on Lua 5.4 and LuaJIT.
test: deps
	@$(MAKE) --no-print-directory check-all
	@$(MAKE) --no-print-directory interop-all

# One interpreter (LUA_VERSION, LUA): C tests and specs.
check: all ctest spec

# Every interpreter installed (tools/deps.sh installs the five), each built
# into its own directory against this build's core.
LUAS := $(foreach v,5.1 5.2 5.3 5.4,$(if $(shell command -v lua$(v)),$(v))) \
	$(if $(shell command -v luajit),luajit)
INTEROP_LUAS := 5.4 luajit
for_lua = $(if $(filter luajit,$(1)),LUA=luajit,LUA_VERSION=$(1)) \
	CORE_BUILD=$(CORE_BUILD)
# The same in a shell loop over $$v: sets $$args.
for_lua_sh = case $$v in luajit) args="LUA=luajit";; \
	*) args="LUA_VERSION=$$v";; esac; args="$$args CORE_BUILD=$(CORE_BUILD)";

check-all: all ctest
	@echo "== specs on $(LUAS)"
	@$(MAKE) --no-print-directory -j2 -Otarget $(LUAS:%=spec-%)

spec-%: all
	@$(MAKE) --no-print-directory $(call for_lua,$*) spec

interop-all: all
	@set -e; for v in $(INTEROP_LUAS); do echo "== interop on $$v"; \
		$(for_lua_sh) $(MAKE) --no-print-directory $$args interop; done

ctest: $(CTESTS)
	@set -e; for t in $(CTESTS); do echo "== $$t"; $$t; done

spec: all
	$(LUA_ENV) $(BUSTED) --cpath="$(BUILD)/?.so" $(BUSTED_FLAGS) spec

# Against Prosody and ejabberd from the distribution and the slixmpp client,
# which the tests start on loopback with throwaway configs, certificates and
# accounts (never the system's services). A server that cannot start fails.
interop: all
	$(LUA_ENV) $(BUSTED) --cpath="$(BUILD)/?.so" $(BUSTED_FLAGS) --run=interop

# Every test under AddressSanitizer and UndefinedBehaviorSanitizer. The Lua
# interpreter is not instrumented, so the ASan runtime is preloaded for it.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan CC=gcc \
		CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" \
		ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp \
		BUSTED="env LD_PRELOAD=$$(gcc -print-file-name=libasan.so) $(LUA) /usr/bin/busted" \
		check

# libFuzzer targets, each run for FUZZ_TIME seconds from its seed corpus.
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZERS := $(FUZZ_SRC:spec/fuzz/%.c=build-fuzz/%)
build-fuzz/%: spec/fuzz/%.c $(CORE_SRC) $(HEADERS)
	@mkdir -p $(@D)
	clang -std=c11 -D_POSIX_C_SOURCE=200809L $(FUZZ_FLAGS) $(DEP_CFLAGS) \
		-Icsrc -o $@ $< $(CORE_SRC) $(DEP_LIBS)

# Two at a time (the CI machines have two cores), output kept per target.
fuzz: deps
	@$(MAKE) --no-print-directory -j2 -Otarget $(FUZZERS:build-fuzz/%=fuzz-run-%)

fuzz-run-%: build-fuzz/%
	@mkdir -p build-fuzz/corpus/$* build-fuzz/artifacts
	@echo "== $* for $(FUZZ_TIME)s"
	@$< -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/$*- \
		build-fuzz/corpus/$* spec/fuzz/corpus/$* > build-fuzz/$*.log 2>&1; \
	rc=$$?; grep -E "^(Done|stat::number_of_executed)" build-fuzz/$*.log; \
	if [ $$rc -ne 0 ]; then tail -40 build-fuzz/$*.log; \
		echo "fuzz: $* FAILED (see build-fuzz/artifacts/)"; exit 1; fi

.SECONDARY: $(FUZZERS)

BENCH_SRC := $(filter-out bench/tables_floor.c,$(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(STATIC_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(DEP_LIBS)
# A Lua module for xml_bench.lua (require "bench.tables_floor"), built for
# each interpreter.
BENCH_MODULE := $(BUILD)/bench/tables_floor.so
$(BENCH_MODULE): bench/tables_floor.c $(HEADERS) | flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared $(LDFLAGS) -o $@ $<

# Figures side by side with the peers' (Prosody), from one run.
bench: deps
	@$(MAKE) --no-print-directory bench-run
# Then the codec and client benchmarks again on LuaJIT, on the same corpus
# (Prosody's columns stay empty there: its C modules are built for 5.4).
BENCH_LUAJIT := xml stanza client
bench-run: all $(BENCH_BIN) $(BENCH_MODULE)
	$(LUA_ENV) LXMPP_BENCH_BIN=$(BUILD)/bench $(LUA) bench/run.lua
	@$(MAKE) --no-print-directory LUA=luajit CORE_BUILD=$(CORE_BUILD) \
		LXMPP_BENCH_BIN=$(BUILD)/bench bench-luajit

bench-luajit: all $(BENCH_MODULE)
	$(LUA_ENV) LXMPP_BENCH_BIN=$(LXMPP_BENCH_BIN) LXMPP_BENCH="$(BENCH_LUAJIT)" \
		$(LUA) bench/run.lua

lint:
	luacheck -q lua spec bench examples prosody
	clang-format --dry-run --Werror csrc/*.c csrc/*.h csrc/lua/*.c \
		csrc/lua/*.h spec/c/*.c spec/c/*.h spec/fuzz/*.c spec/fuzz/*.h

# RFC 6120 §9 twice: our client and our server back to back in memory, then
# the same over loopback sockets (lxmpp.client and the tiny server).
demo: deps
	@$(MAKE) --no-print-directory demo-run
demo-run: all
	@echo "== in memory, back to back (examples/demo.lua)"
	@$(LUA_ENV) $(LUA) examples/demo.lua
	@echo "== over 127.0.0.1 (examples/demo_sockets.lua)"
	@$(LUA_ENV) $(LUA) examples/demo_sockets.lua

install: all
	install -d $(DESTDIR)$(LUA_LIBDIR)/lxmpp $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include
	install -m 755 $(LUA_MODULE) $(DESTDIR)$(LUA_LIBDIR)/lxmpp/core.so
	cd lua && find lxmpp -name '*.lua' -exec install -D -m 644 {} \
		$(abspath $(DESTDIR)$(LUA_DIR))/{} \;
	install -m 644 prosody/mod_lxmpp.lua $(DESTDIR)$(LUA_DIR)/ # Prosody: plugin_paths = { "$(PREFIX)" }
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 csrc/lxmpp.h $(DESTDIR)$(PREFIX)/include/

# The rock on every Lua installed, offline, one at a time (luarocks builds
# next to the sources): `luarocks make` into a private tree, `luarocks pack`
# of what it installed, `luarocks install` of that .rock into a second
# tree, and the installed modules loaded by the interpreter. LuaJIT builds
# as Lua 5.1 against its own headers.
ROCK := build/rock/$(LUA_NAME)
ROCK_VARS = $(if $(filter luajit,$(LUA_NAME)),LUA_INCDIR=$(patsubst \
	-I%,%,$(shell $(PKG_CONFIG) --cflags-only-I $(LUA_PC))))
LUAROCKS := luarocks --lua-version=$(LUA_VERSION)
rock:
	@set -e; for v in $(LUAS); do echo "== rock on $$v"; $(for_lua_sh) \
		$(MAKE) --no-print-directory $$args rock-one; done

rock-one:
	rm -rf $(ROCK)
	$(LUAROCKS) --tree=$(ROCK)/make make lxmpp-scm-1.rockspec $(ROCK_VARS)
	rm -rf lxmpp csrc/*.o csrc/lua/*.o
	cd $(ROCK) && $(LUAROCKS) --tree=make pack lxmpp scm-1
	$(LUAROCKS) --tree=$(ROCK)/installed install $(ROCK)/lxmpp-scm-1.*.rock
	LUA_PATH="$(ROCK)/installed/share/lua/$(LUA_VERSION)/?.lua;$(ROCK)/installed/share/lua/$(LUA_VERSION)/?/init.lua" \
	LUA_CPATH="$(ROCK)/installed/lib/lua/$(LUA_VERSION)/?.so" \
		$(LUA) -e 'local x = require "lxmpp"; assert(require "lxmpp.jid".prep("A@B") == "a@b"); print("rock ok: lxmpp " .. x.version .. " on " .. (rawget(_G, "jit") and jit.version or _VERSION))'

clean:
	rm -rf build build-asan build-fuzz lxmpp csrc/*.o csrc/lua/*.o
