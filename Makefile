# nomoat - kernel-enforced egress policy for sandboxed workloads.
#
#   make            build everything into build/
#   make demo       install missing deps, build, run the demonstration
#   make test       install missing deps, build, run every test (CI)
#   make bench      install missing deps, build, print the benchmark table
#   make deps       install missing Debian packages (apt-get)
#   make V=1 ...    show the commands
#
# The BPF programs are built against the UAPI headers (linux-libc-dev) and
# libbpf's bpf_helpers.h: no vmlinux.h, no kernel BTF needed to build.

OUT        ?= build
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Cross build, e.g. for arm64 (Debian's gcc-aarch64-linux-gnu and the :arm64
# -dev packages; tools/kernel-check.sh --arch arm64 installs them):
#   make CROSS=aarch64-linux-gnu- OUT=build/arm64 build/arm64/nomoat build/arm64/nomoat-dns
CROSS      ?=
ifneq ($(CROSS),)
CC         := $(CROSS)gcc
ARCH       := $(shell echo '$(CROSS)' | sed -e 's/-.*//' -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
endif
AR         := $(CROSS)ar

WARN       := -Wall -Wextra -Werror
CFLAGS     ?= -O2 -g
CPPFLAGS   += -Iinclude -Iuser/lib -I$(OUT) -D_GNU_SOURCE
LDLIBS     += -lbpf -lelf -lz -ljansson
# The host's system include directories after clang's own, for <linux/*.h>
# and <asm/*.h> (as libbpf-bootstrap does): -target bpf has no multiarch
# directory of its own.
BPF_SYSINC := $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
              sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__BPF__ $(WARN) \
              -Wno-unused-function -Iinclude $(BPF_SYSINC)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all demo test bench deps clean regen-defaults install fuzz

# make install [DESTDIR=/staging] [PREFIX=/usr/local]
PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR := $(PREFIX)/sbin
UNITDIR ?= /lib/systemd/system
# Podman's (and CRI-O's) OCI hook directory
HOOKSDIR ?= /usr/share/containers/oci/hooks.d

LIB_SRC   := $(wildcard user/lib/*.c)
CLI_SRC   := $(wildcard user/cli/*.c)
LIB_OBJ   := $(patsubst user/lib/%.c,$(OUT)/lib/%.o,$(LIB_SRC)) $(OUT)/lib/deny_defaults.o
GEN_SRC   := $(OUT)/deny_defaults.c
CLI_OBJ   := $(patsubst user/cli/%.c,$(OUT)/cli/%.o,$(CLI_SRC))
DMN_SRC   := $(wildcard user/daemon/*.c)
DMN_OBJ   := $(patsubst user/daemon/%.c,$(OUT)/daemon/%.o,$(DMN_SRC))
PRX_SRC   := $(wildcard user/proxy/*.c)
PRX_OBJ   := $(patsubst user/proxy/%.c,$(OUT)/proxy/%.o,$(PRX_SRC))
DNS_SRC   := $(wildcard user/dns/*.c)
DNS_OBJ   := $(patsubst user/dns/%.c,$(OUT)/dns/%.o,$(DNS_SRC))
# what unit tests and fuzz targets link besides the library: everything but
# the mains
UNIT_LINK := $(filter-out user/cli/main.c,$(CLI_SRC)) $(filter-out user/daemon/main.c,$(DMN_SRC)) \
             $(filter-out user/proxy/main.c,$(PRX_SRC)) $(filter-out user/dns/main.c,$(DNS_SRC))
UNIT_INC  := -Iuser/cli -Iuser/daemon -Iuser/proxy -Iuser/dns
# nomoat-dns resolves upstream with c-ares
DNS_LIBS  := -lcares
INC_HDRS  := $(wildcard include/*.h)
BPF_HDRS  := $(wildcard bpf/lib/*.h) $(INC_HDRS)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRC))
UNIT_ASAN := $(patsubst tests/unit/%.c,$(OUT)/tests/asan-%,$(UNIT_SRC))
TLIB_SRC  := $(wildcard tests/lib/*.c)
ITEST_SRC := $(wildcard tests/integration/*.c)
DTEST_SRC := $(wildcard tests/daemon/*.c)
DOCTEST_SRC := $(wildcard tests/doctor/*.c)
BENCH_SRC := $(wildcard tools/bench*.c)
BTEST_SRC := $(wildcard tests/battery/*.c)
PTEST_SRC := $(wildcard tests/proxy/*.c)
DTEST2_SRC := $(wildcard tests/dns/*.c)
# libFuzzer targets: tests/fuzz/fuzz_NAME.c, seed corpus tests/fuzz/corpus/NAME/
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRC))

all: $(OUT)/nomoat $(if $(wildcard user/daemon/main.c),$(OUT)/nomoatd) $(if $(wildcard user/proxy/main.c),$(OUT)/nomoat-proxy) \
     $(if $(wildcard user/dns/main.c),$(OUT)/nomoat-dns) \
     $(if $(BTEST_SRC),$(OUT)/tests/battery) $(if $(PTEST_SRC),$(OUT)/tests/proxy-integration) $(if $(DTEST2_SRC),$(OUT)/tests/dns-integration) $(OUT)/nomoat-testnet $(OUT)/tests/cprobe $(OUT)/tests/integration $(if $(DTEST_SRC),$(OUT)/tests/daemon-integration) $(if $(DOCTEST_SRC),$(OUT)/tests/doctor-integration) $(UNIT_BIN) $(if $(BENCH_SRC),$(OUT)/nomoat-bench)

deps:
	$(Q)tools/install-deps.sh

$(OUT) $(OUT)/lib $(OUT)/cli $(OUT)/daemon $(OUT)/proxy $(OUT)/dns $(OUT)/tests $(OUT)/fuzz:
	$(Q)mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && mv $@.tmp $@

# BPF programs that only tests load (tests/bpf/NAME.bpf.c), with their
# skeletons in $(OUT)/tests/NAME.skel.h.
$(OUT)/tests/%.bpf.o: tests/bpf/%.bpf.c $(BPF_HDRS) | $(OUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && mv $@.tmp $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,_bpf,$(notdir $<)) > $@.tmp && mv $@.tmp $@

$(OUT)/lib/%.o: user/lib/%.c $(wildcard user/lib/*.h) $(INC_HDRS) $(OUT)/nomoat.skel.h | $(OUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@

$(OUT)/cli/%.o: user/cli/%.c $(wildcard user/cli/*.h) $(wildcard user/lib/*.h) $(INC_HDRS) | $(OUT)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Iuser/cli $(CFLAGS) $(WARN) -c $< -o $@

# The shipped default deny list, compiled in as one string.
$(OUT)/deny_defaults.c: policy/deny-defaults.rules | $(OUT)
	$(call msg,GEN,$@)
	$(Q){ echo '/* generated from $< */'; echo 'const char nm_deny_defaults[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/.*/"&\\n"/' $<; echo ';'; } > $@.tmp && mv $@.tmp $@

$(OUT)/lib/deny_defaults.o: $(OUT)/deny_defaults.c | $(OUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -c $< -o $@

$(OUT)/daemon/%.o: user/daemon/%.c $(wildcard user/daemon/*.h) $(wildcard user/lib/*.h) $(INC_HDRS) | $(OUT)/daemon
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Iuser/daemon $(CFLAGS) $(WARN) -c $< -o $@

$(OUT)/proxy/%.o: user/proxy/%.c $(wildcard user/proxy/*.h) $(wildcard user/lib/*.h) $(INC_HDRS) | $(OUT)/proxy
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Iuser/proxy $(CFLAGS) $(WARN) -c $< -o $@

$(OUT)/dns/%.o: user/dns/%.c $(wildcard user/dns/*.h) $(wildcard user/lib/*.h) $(INC_HDRS) | $(OUT)/dns
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Iuser/dns $(CFLAGS) $(WARN) -c $< -o $@

$(OUT)/nomoat-dns: $(DNS_OBJ) $(OUT)/libnomoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) $(DNS_LIBS) -o $@

$(OUT)/nomoat-proxy: $(PRX_OBJ) $(OUT)/libnomoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/nomoatd: $(DMN_OBJ) $(OUT)/libnomoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/libnomoat.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUT)/nomoat: $(CLI_OBJ) $(OUT)/libnomoat.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/nomoat-bench: $(BENCH_SRC) $(wildcard tools/*.h) $(OUT)/libnomoat.a | $(OUT)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itools $(CFLAGS) $(WARN) $(BENCH_SRC) $(OUT)/libnomoat.a $(LDLIBS) -lpthread -lm -o $@

$(OUT)/tests/integration: $(ITEST_SRC) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(WARN) $(ITEST_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

$(OUT)/tests/daemon-integration: $(DTEST_SRC) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(WARN) $(DTEST_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

$(OUT)/tests/battery: $(BTEST_SRC) $(wildcard tests/battery/*.h) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib -Itests/battery $(CFLAGS) $(WARN) $(BTEST_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

$(OUT)/tests/proxy-integration: $(PTEST_SRC) $(wildcard tests/proxy/*.h) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib -Itests/proxy $(CFLAGS) $(WARN) $(PTEST_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

$(OUT)/tests/doctor-integration: $(DOCTEST_SRC) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(WARN) $(DOCTEST_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

$(OUT)/tests/dns-integration: $(DTEST2_SRC) $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(WARN) $(DTEST2_SRC) $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

# The client inside the test containers: static, the image has no libc.
$(OUT)/tests/cprobe: tests/containers/cprobe.c | $(OUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -static $< -o $@

$(OUT)/nomoat-testnet: tools/testnet.c $(TLIB_SRC) $(wildcard tests/lib/*.h) $(OUT)/libnomoat.a | $(OUT)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(CFLAGS) $(WARN) tools/testnet.c $(TLIB_SRC) $(OUT)/libnomoat.a $(LDLIBS) -luring -lpthread -o $@

# Unit tests that run a test program of their own in the kernel.
$(OUT)/tests/test_decide $(OUT)/tests/asan-test_decide: $(OUT)/tests/decide_run.skel.h

# Unit tests link the library sources directly so the sanitizer build
# instruments them too.
$(OUT)/tests/test_%: tests/unit/test_%.c $(LIB_SRC) $(UNIT_LINK) $(GEN_SRC) $(wildcard user/*/*.h) $(INC_HDRS) $(OUT)/nomoat.skel.h | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(UNIT_INC) -DNM_UNIT_TEST $(CFLAGS) $(WARN) $< $(LIB_SRC) $(GEN_SRC) $(UNIT_LINK) $(LDLIBS) $(DNS_LIBS) -lcmocka -o $@

$(OUT)/tests/asan-test_%: tests/unit/test_%.c $(LIB_SRC) $(UNIT_LINK) $(GEN_SRC) $(wildcard user/*/*.h) $(INC_HDRS) $(OUT)/nomoat.skel.h | $(OUT)/tests
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(CPPFLAGS) $(UNIT_INC) -DNM_UNIT_TEST -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(WARN) $< $(LIB_SRC) $(GEN_SRC) $(UNIT_LINK) $(LDLIBS) $(DNS_LIBS) -lcmocka -o $@

# libFuzzer targets, built with clang whatever CC is (tests/fuzz/run.sh runs
# them for a bounded time over their corpus).
$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(UNIT_LINK) $(GEN_SRC) $(wildcard user/*/*.h) $(INC_HDRS) $(OUT)/nomoat.skel.h | $(OUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(CPPFLAGS) $(UNIT_INC) -DNM_UNIT_TEST -DNM_FUZZ -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(WARN) $< $(LIB_SRC) $(GEN_SRC) $(UNIT_LINK) $(LDLIBS) $(DNS_LIBS) -o $@

fuzz: $(FUZZ_BIN)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(OUT)

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_ASAN) $(FUZZ_BIN)
	$(Q)tests/run.sh $(OUT)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(OUT)/nomoat-bench

# Regenerate the shipped list from the reference table (TSV=path to override).
TSV ?= ../shared/deny-defaults.tsv
regen-defaults:
	$(Q)tools/gen-deny-defaults.sh $(TSV) > policy/deny-defaults.rules.tmp && \
	  mv policy/deny-defaults.rules.tmp policy/deny-defaults.rules

# The policy file under /etc is installed only when there is none.
install: $(OUT)/nomoat $(OUT)/nomoatd $(OUT)/nomoat-proxy $(OUT)/nomoat-dns
	$(Q)install -D -m 0755 $(OUT)/nomoat $(DESTDIR)$(SBINDIR)/nomoat
	$(Q)install -D -m 0755 $(OUT)/nomoatd $(DESTDIR)$(SBINDIR)/nomoatd
	$(Q)install -D -m 0755 $(OUT)/nomoat-proxy $(DESTDIR)$(SBINDIR)/nomoat-proxy
	$(Q)install -D -m 0755 $(OUT)/nomoat-dns $(DESTDIR)$(SBINDIR)/nomoat-dns
	$(Q)install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/nomoat/README.md
	$(Q)install -D -m 0644 policy/deny-defaults.rules $(DESTDIR)$(PREFIX)/share/nomoat/deny-defaults.rules
	$(Q)install -D -m 0644 policy/nomoat.conf $(DESTDIR)$(PREFIX)/share/nomoat/nomoat.conf.example
	$(Q)[ -e $(DESTDIR)/etc/nomoat/nomoat.conf ] || \
	  install -D -m 0644 policy/nomoat.conf $(DESTDIR)/etc/nomoat/nomoat.conf
	$(Q)mkdir -p $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' tools/nomoatd.service.in > $(DESTDIR)$(UNITDIR)/nomoatd.service
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PREFIX@|$(PREFIX)|g' tools/nomoat-proxy.service.in > \
	  $(DESTDIR)$(UNITDIR)/nomoat-proxy.service
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PREFIX@|$(PREFIX)|g' tools/nomoat-dns.service.in > \
	  $(DESTDIR)$(UNITDIR)/nomoat-dns.service
	$(Q)mkdir -p $(DESTDIR)$(HOOKSDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' tools/nomoat-oci-hook.json.in > $(DESTDIR)$(HOOKSDIR)/nomoat.json
	$(Q)[ -e $(DESTDIR)/etc/default/nomoat ] || install -D -m 0644 tools/nomoat.default $(DESTDIR)/etc/default/nomoat
	$(Q)install -D -m 0644 policy/nomoat-containers.conf $(DESTDIR)$(PREFIX)/share/nomoat/nomoat-containers.conf.example
	$(Q)echo "installed into $(DESTDIR)$(PREFIX) (enable with: systemctl enable --now nomoatd nomoat-proxy nomoat-dns)"

# Boot Debian's kernels under QEMU (6.1 and 6.12 x86_64, 6.1 arm64, 5.10's
# refusal) and check there: one line per target, then "N passed, N failed".
.PHONY: kernel-check
kernel-check: $(OUT)/nomoat $(OUT)/nomoat-dns $(if $(wildcard user/daemon/main.c),$(OUT)/nomoatd)
	$(Q)tools/kernel-check-all.sh $(OUT)

clean:
	$(Q)rm -rf $(OUT)
