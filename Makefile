# supermesh: one Makefile for every program, library, test and man page.
# `make` builds into build/, `make check` runs every test, `make SANITIZE=1 check`
# does the same with ASan+UBSan into build/san/, `make demo` runs the demo.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

.DEFAULT_GOAL := all

ALL_PROGRAMS := basenoded supernoded exitpeerd clientd wgrelay natctl
# A program is built once its folder has a main.c.
PROGRAMS := $(foreach p,$(ALL_PROGRAMS),$(if $(wildcard $(p)/main.c),$(p)))
PKGS := libuv libprotobuf-c libsodium libnl-3.0 libnl-route-3.0 libnl-genl-3.0 \
	libmnl libnftnl jansson libmicrohttpd sqlite3

ifeq ($(FUZZ),1)
# libFuzzer targets: clang, coverage on every object, sanitizers on.
O ?= build/fuzz
CC := clang
OPTFLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
else ifeq ($(SANITIZE),1)
O ?= build/san
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDSAN := -fsanitize=address,undefined
else
O ?= build
OPTFLAGS := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN :=
endif

CC ?= cc
WARNINGS := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	-Wshadow -Wpointer-arith -Wcast-qual -Wno-unused-parameter
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -fstack-protector-strong $(OPTFLAGS) \
	-MMD -MP -Ilib -I$(O)/proto $(PKG_CFLAGS)
ALL_CFLAGS = $(BASE_CFLAGS) $(WARNINGS) $(CFLAGS)
# protoc-c output is not ours to restyle; it still builds with -Werror.
GEN_CFLAGS = $(BASE_CFLAGS) -Wall -Werror $(CFLAGS)
ALL_LDFLAGS = $(LDSAN) -Wl,--as-needed $(LDFLAGS)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

PROTOS := $(wildcard proto/*.proto)
PROTO_C := $(patsubst proto/%.proto,$(O)/proto/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst %.c,$(O)/%.o,$(LIB_SRC)) $(PROTO_C:.c=.o)
LIBSM := $(O)/lib/libsupermesh.a

# Each program is its folder's .c files; everything but main.o also goes into
# an archive so unit tests can link the program's modules.
define program_rules
$(1)_SRC := $$(wildcard $(1)/*.c)
$(1)_OBJ := $$(patsubst %.c,$$(O)/%.o,$$($(1)_SRC))
$(1)_MODS := $$(filter-out $$(O)/$(1)/main.o,$$($(1)_OBJ))
$$(O)/$(1)/lib$(1).a: $$($(1)_MODS)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$$(O)/bin/$(1): $$($(1)_OBJ) $$(LIBSM)
	@mkdir -p $$(@D)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) -o $$@ $$($(1)_OBJ) $$(LIBSM) $$(ALL_LDFLAGS) $$(PKG_LIBS) -lm
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rules,$(p))))
BINS := $(foreach p,$(PROGRAMS),$(O)/bin/$(p))

UNIT_SRC := $(wildcard t/unit/test_*.c)
UNIT_BINS := $(patsubst t/unit/%.c,$(O)/t/%,$(UNIT_SRC))
TOOL_SRC := $(wildcard t/tools/*.c)
TOOL_BINS := $(patsubst t/tools/%.c,$(O)/t/tools/%,$(TOOL_SRC))

all: $(LIBSM) $(BINS) $(UNIT_BINS) $(TOOL_BINS)

$(O)/proto/%.pb-c.c $(O)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(@D)
	$(call msg,PROTOC,$<)
	$(Q)protoc-c --c_out=$(O)/proto -Iproto $<

$(O)/proto/%.pb-c.o: $(O)/proto/%.pb-c.c
	$(call msg,CC,$<)
	$(Q)$(CC) $(GEN_CFLAGS) -c -o $@ $<

# Every object may include generated headers.
$(O)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBSM): $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# t/unit/test_<program>_<module>.c (and t/fuzz/fuzz_<program>_<x>.c) links
# that program's modules; any other test links lib/ only.
test_prog = $(firstword $(foreach p,$(PROGRAMS),$(if $(filter test_$(p)_% fuzz_$(p)_%,$(1)),$(p))))
test_archive = $(if $(call test_prog,$(1)),$(O)/$(call test_prog,$(1))/lib$(call test_prog,$(1)).a)

.SECONDEXPANSION:
$(O)/t/%: t/unit/%.c $$(call test_archive,$$*) $(LIBSM) | $(PROTO_H)
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< \
		$(call test_archive,$*) $(LIBSM) $(ALL_LDFLAGS) $(PKG_LIBS) $(CHECK_LIBS) -lm

$(O)/t/tools/%: t/tools/%.c $(LIBSM) | $(PROTO_H)
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBSM) $(ALL_LDFLAGS) $(PKG_LIBS) -lm

# Fuzz targets: `make fuzz` builds them (clang, libFuzzer, ASan+UBSan) into
# build/fuzz/, `make fuzz-smoke` runs each for FUZZ_SECONDS over its corpus
# and every past crash kept in t/fuzz/regress/<target>/.
FUZZ_SRC := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst t/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 10

$(O)/fuzz/%: t/fuzz/%.c $$(call test_archive,$$*) $(LIBSM) | $(PROTO_H)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer -o $@ $< \
		$(call test_archive,$*) $(LIBSM) $(ALL_LDFLAGS) $(PKG_LIBS) -lm

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz-smoke: fuzz
	@O=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) sh t/fuzz/smoke.sh

# `make bench` (not part of check): t/bench/run.sh drives supernoded with
# t/bench/streamload and measures relayed/direct throughput (see BENCH.md).
BENCH_SRC := $(wildcard t/bench/*.c)
$(O)/t/bench/streamload: $(BENCH_SRC) $(wildcard t/bench/*.h) $(LIBSM) | $(PROTO_H)
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_SRC) $(LIBSM) $(ALL_LDFLAGS) $(PKG_LIBS) -lm

bench: $(LIBSM) $(BINS) $(O)/t/bench/streamload
	@O=$(O) timeout -s TERM 1500 sh t/bench/run.sh


deps:
	@sh contrib/deps.sh

check: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) sh t/run.sh

check-unit: all
	@O=$(O) sh t/run.sh unit

# Unit tests under valgrind's memcheck; leaks and errors fail.
check-valgrind: all
	@O=$(O) VALGRIND=1 sh t/run.sh unit

demo: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) sh contrib/demo.sh

MANPAGES := $(wildcard man/*.[58])
UNITS := $(wildcard contrib/systemd/*.service)
EXAMPLES := $(wildcard contrib/*.conf.example)
DOCS := docs/architecture.md docs/runbook.md
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR ?= $(PREFIX)/share/doc/supermesh

# Where a distro package puts things; /etc is never written: the example
# configs go to $(DOCDIR)/examples. Units name /usr/sbin; sed makes that
# $(SBINDIR). Only the programs are built: installing needs no test tools.
install: $(BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/grafana
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	for m in $(MANPAGES); do \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	for u in $(UNITS); do \
		sed 's|/usr/sbin/|$(SBINDIR)/|g' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; done
	install -m 0644 contrib/systemd/supermesh.sysusers.conf \
		$(DESTDIR)$(SYSUSERSDIR)/supermesh.conf
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 contrib/grafana/supermesh.json $(DESTDIR)$(DOCDIR)/grafana/
	install -m 0644 $(wildcard $(DOCS)) $(DESTDIR)$(DOCDIR)/

# Removes what install put there; config and state in /etc and /var stay.
uninstall:
	rm -f $(foreach p,$(ALL_PROGRAMS),$(DESTDIR)$(SBINDIR)/$(p)) \
		$(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(foreach u,$(UNITS),$(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u))) \
		$(DESTDIR)$(SYSUSERSDIR)/supermesh.conf \
		$(foreach e,$(EXAMPLES),$(DESTDIR)$(DOCDIR)/examples/$(notdir $(e))) \
		$(DESTDIR)$(DOCDIR)/grafana/supermesh.json \
		$(foreach d,$(DOCS),$(DESTDIR)$(DOCDIR)/$(notdir $(d)))
	for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/grafana $(DESTDIR)$(DOCDIR); do \
		rmdir $$d 2>/dev/null || true; done

.PHONY: uninstall

clean:
	rm -rf build

.PHONY: all deps check check-unit check-valgrind demo install clean fuzz fuzz-build fuzz-smoke
.PHONY: bench
.DELETE_ON_ERROR:
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
