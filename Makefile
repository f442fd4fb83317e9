# sp: Sensitivity Pruner toolkit.  `make`, `make test`, `make demo`, `make install`,
# `make print-config`, `make fuzz [FUZZ_SECONDS=N]`, `make test SANITIZE=address,undefined`.
.DELETE_ON_ERROR:
.SUFFIXES:

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
NVCC      ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))

# SANITIZE=address,undefined builds with those sanitizers into folders of
# their own (build-san-address-undefined/, bin-san-address-undefined/), so
# the plain build stays as it is.
SANITIZE  ?=
comma     := ,
ifeq ($(SANITIZE),)
BUILD     ?= build
BINDIR    ?= bin
else
SAN_NAME  := san-$(subst $(comma),-,$(SANITIZE))
BUILD     ?= build-$(SAN_NAME)
BINDIR    ?= bin-$(SAN_NAME)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
# a program that dies with one sentence leaves its memory to exit()
SAN_ENV   := ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
endif
OPT       ?= -O2
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_FLAGS) -fopenmp -Iinclude -DSP_VERSION='"$(VERSION)"'
# Library files reach another module's private header as "module/name_priv.h".
LIB_CFLAGS = $(ALL_CFLAGS) -Icommon
LDLIBS    := -ldnnl -lcjson -larchive -lturbojpeg -lpng -lz -lm -lpthread -ldl -fopenmp

HAVE_DNNL  := $(shell test -e /usr/include/dnnl.h && echo yes || echo no)
HAVE_CUDNN := $(shell ls $(CUDA_HOME)/include/cudnn.h /usr/include/cudnn.h 2>/dev/null | head -1)
HAVE_CUBLAS := $(shell ls $(CUDA_HOME)/include/cublas_v2.h 2>/dev/null | head -1)
HAVE_NCCL  := $(shell ls $(CUDA_HOME)/include/nccl.h /usr/include/nccl.h 2>/dev/null | head -1)
MPICC      ?= $(shell command -v mpicc 2>/dev/null)

# The library is every .c under common/, one folder per module (see README).
LIB_SRC  := $(filter-out common/train/dist_mpi.c,$(sort $(shell find common -name '*.c')))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_SRC  := $(sort $(wildcard cmd/sp-*.c))
PROGS    := $(CMD_SRC:cmd/%.c=$(BINDIR)/%)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MAN1     := $(wildcard man/man1/*.1)
MAN5     := $(wildcard man/man5/*.5)
MAN7     := $(wildcard man/man7/*.7)

# The CUDA backend: a plug-in (common/backend/backend_load.c) built wherever
# nvcc, cuDNN and cuBLAS are found, for CUDA_ARCH (90: H100/H200; the PTX
# also runs on newer GPUs).  NCCL, when found, joins it for data-parallel
# training across GPUs.
CUDA_ARCH ?= 90
COMMA := ,
ifneq ($(and $(NVCC),$(HAVE_CUDNN),$(HAVE_CUBLAS)),)
CUDA_SRC    := $(sort $(wildcard common/backend/cuda/*.cu))
CUDA_OBJ    := $(CUDA_SRC:%.cu=$(BUILD)/%.o)
CUDA_PLUGIN := $(BUILD)/libsp-cuda.so
NVFLAGS     := -O2 -std=c++17 -lineinfo -gencode arch=compute_$(CUDA_ARCH),code=[sm_$(CUDA_ARCH),compute_$(CUDA_ARCH)] \
               -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Wshadow -Iinclude -Icommon
CUDA_LIBS   := -L$(CUDA_HOME)/lib64 -Xlinker -rpath=$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart
ifneq ($(HAVE_NCCL),)
NVFLAGS     += -DSP_HAVE_NCCL
CUDA_LIBS   += -lnccl
endif
# where programs look for the plug-in: the build, then the installed copy
$(BUILD)/common/backend/backend_load.o: \
    LIB_CFLAGS += -DSP_PLUGIN_DIRS='"$(abspath $(BUILD)):$(PREFIX)/lib/sp"'
endif

# Data-parallel training over MPI: a plug-in too (common/train/dist.c), so
# the programs need no MPI library unless launched by mpirun.
ifneq ($(MPICC),)
MPI_PLUGIN  := $(BUILD)/libsp-mpi.so
$(BUILD)/common/train/dist.o: LIB_CFLAGS += -DSP_MPI_DIRS='"$(abspath $(BUILD)):$(PREFIX)/lib/sp"'
endif

all: $(PROGS) $(TESTS) $(CUDA_PLUGIN) $(MPI_PLUGIN)

$(BUILD)/common/backend/cuda/%.o: common/backend/cuda/%.cu $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

# normal draws that round as the host's (cuda_train.cu)
$(BUILD)/common/backend/cuda/cuda_train.o: NVFLAGS += --fmad=false

$(CUDA_PLUGIN): $(CUDA_OBJ)
	$(NVCC) -shared -o $@ $^ $(CUDA_LIBS)

$(MPI_PLUGIN): common/train/dist_mpi.c $(BUILD)/flags
	$(MPICC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -shared -Iinclude -Icommon -o $@ $<

# Objects depend on the effective flags, so changing them rebuilds.
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDLIBS)' > $@

$(BUILD)/common/%.o: common/%.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

# The twin's normal draws vectorise only without errno (rules_priv.h).
$(BUILD)/common/backend/cpu/cpu_stage.o $(BUILD)/common/backend/ref/ref_stage.o: \
    LIB_CFLAGS += -fno-math-errno -ffp-contract=off

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsp.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(BUILD)/cmd/%.o $(BUILD)/libsp.a
	@mkdir -p $(BINDIR)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libsp.a $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/testlib.o $(BUILD)/libsp.a
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/tests/unit/testlib.o $(BUILD)/libsp.a $(LDLIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Itests/unit -MMD -MP -c $< -o $@

# The test command of the quick start: installs what is missing, builds, runs
# (TESTS_ONLY="PATTERN...": only the tests whose name contains one of them).
test:
	@scripts/install-deps
	@$(MAKE) --no-print-directory all
	@$(SAN_ENV) SP_BIN=$(abspath $(BINDIR)) SP_BUILD=$(abspath $(BUILD)) tests/run $(TESTS_ONLY)

# The demo of the quick start: installs what is missing, builds the
# programs, runs pipelines/demo.mk (Fashion-MNIST: train, prune, fine-tune,
# report) and says how long it all took.
demo:
	@start=$$(date +%s); scripts/install-deps --demo && \
	$(MAKE) --no-print-directory -j$$(nproc) $(PROGS) && \
	$(MAKE) --no-print-directory -f pipelines/demo.mk SP_BIN=$(abspath $(BINDIR)) && \
	echo "demo: done in $$(( $$(date +%s) - start )) s, install and build included"

install: $(PROGS) $(CUDA_PLUGIN) $(MPI_PLUGIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(PREFIX)/share/man/man5)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(PREFIX)/share/man/man7)
	$(if $(CUDA_PLUGIN)$(MPI_PLUGIN),install -d $(DESTDIR)$(PREFIX)/lib/sp && \
	    install -m 644 $(CUDA_PLUGIN) $(MPI_PLUGIN) $(DESTDIR)$(PREFIX)/lib/sp)

# Fuzzing (never part of `make test`): clang's libFuzzer with ASan and
# UBSan, one target per reader (tests/fuzz/fuzz_*.c), each run for
# FUZZ_SECONDS from the seeds in tests/fuzz/corpus/TARGET/.
FUZZ_SECONDS ?= 60
FUZZ_SRC  := $(filter-out tests/fuzz/fuzz.c,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SAN  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -Wno-pass-failed

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/fuzz.o $(BUILD)/libsp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-targets: $(FUZZ_BIN)

fuzz:
	@command -v clang >/dev/null || { echo "make fuzz: needs clang and libclang-rt-14-dev" >&2; exit 1; }
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz SAN_FLAGS='$(FUZZ_SAN)' fuzz-targets
	@scripts/fuzz build-fuzz $(FUZZ_SECONDS)

print-config:
	@echo "version:   $(VERSION)"
	@echo "cc:        $(CC) ($(shell $(CC) -dumpfullversion 2>/dev/null))"
	@echo "cflags:    $(ALL_CFLAGS)"
	@echo "libs:      $(LDLIBS)"
	@echo "oneDNN:    $(HAVE_DNNL)"
	@echo "nvcc:      $(if $(NVCC),$(NVCC) (CUDA_ARCH $(CUDA_ARCH)),not found)"
	@echo "cuDNN:     $(if $(HAVE_CUDNN),$(HAVE_CUDNN),not found)"
	@echo "cuBLAS:    $(if $(HAVE_CUBLAS),$(HAVE_CUBLAS),not found)"
	@echo "  -> $(if $(CUDA_PLUGIN),--device cuda[:N] and auto's GPU: the plug-in $(CUDA_PLUGIN),no CUDA backend: --device cuda says so (needs nvcc$(COMMA) cuDNN and cuBLAS))"
	@echo "NCCL:      $(if $(HAVE_NCCL),$(HAVE_NCCL),not found)"
	@echo "  -> $(if $(and $(CUDA_PLUGIN),$(HAVE_NCCL)),gradients summed GPU to GPU under mpirun,$(if $(CUDA_PLUGIN),GPUs under mpirun sum through host memory with MPI,nothing (no CUDA backend)))"
	@echo "MPI:       $(if $(MPICC),$(MPICC) ($(shell $(MPICC) --showme:version 2>/dev/null | head -c 60)),not found)"
	@echo "  -> $(if $(MPI_PLUGIN),mpirun -np P sp-finetune / sp-train-mask: data-parallel training (the plug-in $(MPI_PLUGIN)),no data-parallel training: mpirun of an sp program says so (install libopenmpi-dev))"
	@echo "programs:  $(notdir $(PROGS))"

clean:
	rm -rf build bin build-san-* bin-san-* build-fuzz

FORCE:
.PHONY: all test demo install fuzz fuzz-targets print-config clean FORCE
.PRECIOUS: $(BUILD)/%.o $(BUILD)/tests/unit/%.o $(BUILD)/tests/fuzz/%.o

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
