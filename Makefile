# berth — top-level Makefile.
#   make                 build ./berth
#   make test            install missing deps, build, run every suite
#   make demo            install missing deps, build, run berth on the bundled example
#   make install PREFIX=/usr/local
#   make fuzz            build libFuzzer harnesses with clang (FUZZ_SECONDS=N to run them)
#   make bench           benchmarks (not part of test)
# Knobs: DEVELOPER=1 (-Werror), SANITIZE=address,undefined, V=1, BUILD=dir (object dir)

BUILD ?= build
ifneq ($(SANITIZE),)
override BUILD := $(BUILD)-san
endif
ifeq ($(SANITIZE),)
BIN ?= berth
else
BIN ?= $(BUILD)/berth
endif
PREFIX ?= /usr/local
comma := ,
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)

# pkg-config module -> Debian package that provides it (for the error message)
PKGS := libarchive:libarchive-dev libzstd:libzstd-dev zlib:zlib1g-dev \
	libcrypto:libssl-dev libcjson:libcjson-dev libpcre2-8:libpcre2-dev \
	libcurl:libcurl4-openssl-dev yaml-0.1:libyaml-dev
PKG_MODS := $(foreach p,$(PKGS),$(firstword $(subst :, ,$(p))))
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKG_MODS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKG_MODS) 2>/dev/null)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -I. -Ibuild-gen -D_GNU_SOURCE \
	-MMD -MP $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS)
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif
# libcurl and libarchive are dlopened on first use (common/bcurl.h and
# common/barchive.h say why): their headers are needed, their -l are not.
# libcrypto's SHA-256 is linked in from libcrypto.a, its symbols hidden, and
# the rest of libcrypto dlopened on first use (common/bcrypto.h says why);
# without a libcrypto.a, -lcrypto as before.
CRYPTO_A := $(wildcard $(shell $(PKG_CONFIG) --variable=libdir libcrypto 2>/dev/null)/libcrypto.a)
CRYPTO_LIBS := $(if $(CRYPTO_A),$(CRYPTO_A) -Wl$(comma)--exclude-libs$(comma)libcrypto.a,-lcrypto)
# zstd, zlib and libyaml are dlopened on first use too
# (common/blibs.h says why)
LAZY_LIBS := -lcurl -larchive -lcrypto -lzstd -lz -lyaml
LIBS := $(filter-out $(LAZY_LIBS),$(PKG_LIBS)) $(CRYPTO_LIBS) -lpthread -ldl
# tests may call any function of those directly (not only the tables')
TEST_LIBS := $(LIBS) $(filter-out -lcurl -lcrypto,$(LAZY_LIBS))

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_DIRS := common parser compat image builder lint
LIB_SRCS := $(wildcard $(addsuffix /*.c,$(LIB_DIRS)))
CLI_SRCS := $(wildcard cli/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIBBERTH := $(BUILD)/libberth.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/fuzz/replay_%)

all: $(BIN)
.PHONY: all deps check-libs test test-run demo install fuzz bench clean FORCE

# The version is a generated header, rewritten only when `git describe`
# changes: as a -D flag it stayed whatever it was when main.o was last
# compiled (sources that include it rebuild when it changes).
build-gen/berth_version.h: FORCE
	@mkdir -p $(@D)
	@echo '#define BERTH_VERSION "$(VERSION)"' > $@.tmp; \
	  if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
GEN_HDRS += build-gen/berth_version.h

# Modules may add generated sources and rules (e.g. embedded data files);
# included after `all` so that it stays the default goal.
-include $(wildcard */rules.mk)

deps:
	@scripts/install-deps

check-libs:
	@missing=""; for p in $(PKGS); do mod=$${p%%:*}; deb=$${p#*:}; \
	  $(PKG_CONFIG) --exists $$mod || missing="$$missing $$deb ($$mod)"; done; \
	  if [ -n "$$missing" ]; then echo "berth: missing libraries:$$missing; run scripts/install-deps" >&2; exit 1; fi

$(BUILD)/.libs-ok: | check-libs
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c | $(BUILD)/.libs-ok $(GEN_HDRS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBBERTH): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(LIBBERTH)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIBBERTH) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBBERTH)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $$($(PKG_CONFIG) --cflags cmocka) $(ALL_LDFLAGS) -o $@ $< \
		$(LIBBERTH) $$($(PKG_CONFIG) --libs cmocka) $(TEST_LIBS)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIBBERTH)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBBERTH) $(TEST_LIBS)

test: deps
	@$(MAKE) --no-print-directory test-run

test-run: $(BIN) $(UNIT_BINS) $(REPLAY_BINS)
	@BERTH="$(abspath $(BIN))" BUILD="$(abspath $(BUILD))" tests/run

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@BERTH="$(abspath $(BIN))" scripts/demo

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/berth
	for m in docs/man/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man1/; done; true

# libFuzzer builds use clang in a separate object tree.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 0
fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		LDFLAGS="-fsanitize=address,undefined" $(FUZZ_BUILD)/libberth.a
	@mkdir -p $(FUZZ_BUILD)/fuzzers
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  echo "  FUZZ    $$n"; \
	  clang -std=gnu11 -O1 -g -I. -Ibuild-gen -D_GNU_SOURCE $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/fuzzers/$$n $$f \
	    $(FUZZ_BUILD)/libberth.a $(TEST_LIBS) || exit 1; done
	@if [ "$(FUZZ_SECONDS)" -gt 0 ]; then for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  c=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  $(FUZZ_BUILD)/fuzzers/$$n -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/$$n $$c || exit 1; done; fi

bench: $(BIN)
	@BERTH="$(abspath $(BIN))" bench/run

clean:
	rm -rf build build-san build-fuzz build-tsan-san build-gen $(BIN)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
