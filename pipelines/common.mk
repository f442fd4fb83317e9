# common.mk: the Sensitivity Pruner as make rules, shared by every pipeline.
#
# A pipeline file (resnet56_cifar10.mk, ...) sets its configuration's
# defaults with ?= and includes this file.  Every stage is a file under
# $(OUT): the packed data, the baseline, mask_K.spk and pruned_K.spk for
# every block K, the fine-tuned final.spk, the report.  make runs what is
# missing or out of date and `make -n` shows the plan.  A stage killed
# half-way continues where it stopped: the programs keep OUT.resume beside
# their output and every recipe passes --resume.  Each stage records the
# arguments it ran with in $(OUT)/.settings/; a stage whose arguments
# differ from the record runs again, and so does everything after it.
# sppipelines(7) documents the variables and targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := report

PIPELINES := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

# ---- the variables (sppipelines(7)); a pipeline file sets its own first

NAME        ?= $(basename $(notdir $(firstword $(MAKEFILE_LIST))))
OUT         ?= out/$(NAME)
DATA        ?=
DATA_FORM   ?= split
BASE        ?=
ARCH        ?=
RECIPE      ?=
BLOCKS      ?=
RATE        ?=
EPOCHS      ?=
BATCH       ?=
WINDOW      ?=
BETA_RANGE  ?=
FT_EPOCHS   ?= 200
FT_BATCH    ?= 64
FT_LR       ?= 0.001
FT_WD       ?= 0.0001
FT_SCHEDULE ?= step
BASE_EPOCHS ?= 200
BASE_BATCH  ?= 128
BASE_LR     ?= 0.1
BASE_WD     ?= 0.0005
BASE_SCHEDULE ?= cosine
LIMIT       ?=
VAL_LIMIT   ?= $(LIMIT)
PRUNE_LIMIT ?=
SIZE        ?=
INPUT       ?=
MEAN        ?=
STD         ?=
AUGMENT     ?=
SEED        ?= 0
DEVICE      ?= auto
THREADS     ?=
SAVE_EVERY  ?=
JOBS        ?= $(shell nproc 2>/dev/null || echo 1)
PACK_FLAGS  ?=
BASE_FLAGS  ?=
MASK_FLAGS  ?=
FT_FLAGS    ?=
REPORT_NOTE ?=
# The sp programs: bin/ beside pipelines/ when it holds them, else PATH.
SP_BIN      ?= $(patsubst %/sp-train-mask,%,$(wildcard $(abspath $(PIPELINES)/../bin)/sp-train-mask))
ifneq ($(SP_BIN),)
export PATH := $(abspath $(SP_BIN)):$(PATH)
endif

# ---- the raw data

ifeq ($(DATA_FORM),imagenet)
# DATA holds train/ and val/ (a folder per class), or the ILSVRC2012 tars
# and one WordNet id per validation image, in file-name order.
ifneq ($(wildcard $(DATA)/train/.),)
TRAIN_SRC   ?= $(DATA)/train
VAL_SRC     ?= $(DATA)/val
else
TRAIN_SRC   ?= $(firstword $(wildcard $(DATA)/ILSVRC2012_img_train.tar $(DATA)/train.tar) \
                 $(DATA)/ILSVRC2012_img_train.tar)
VAL_SRC     ?= $(firstword $(wildcard $(DATA)/ILSVRC2012_img_val.tar $(DATA)/val.tar) \
                 $(DATA)/ILSVRC2012_img_val.tar)
VAL_LABELS  ?= $(DATA)/val_labels.txt
endif
PACK_TRAIN   = $(TRAIN_SRC) --classes-from $(OUT)/classes.txt
PACK_VAL     = $(VAL_SRC) $(if $(VAL_LABELS),--labels-file $(VAL_LABELS)) \
               --classes-from $(OUT)/classes.txt
DATA_DEPS    = $(OUT)/classes.txt
else
# DATA is one file or folder with both splits: a CIFAR archive, an IDX folder.
TRAIN_SRC   ?= $(DATA)
VAL_SRC     ?= $(DATA)
PACK_TRAIN   = $(TRAIN_SRC) --split train
PACK_VAL     = $(VAL_SRC) --split test
DATA_DEPS    =
endif

# ---- arguments of every stage: what it computes from (recorded), and how
# it runs (not recorded: threads, how often it saves its state)

q        = $(subst ','\'',$1)
hw       = $(if $(word 3,$(subst x, ,$1)),$(word 2,$(subst x, ,$1))x$(word 3,$(subst x, ,$1)),$1)
NORM_ARGS = $(if $(MEAN),--mean $(MEAN)) $(if $(STD),--std $(STD))
NET_ARGS = --device $(DEVICE) $(NORM_ARGS)
TRAIN_OPTS = $(NET_ARGS) $(if $(AUGMENT),--augment $(AUGMENT)) --seed $(SEED)
THREAD_ARGS = $(if $(THREADS),--threads $(THREADS))
RUN_ARGS = $(THREAD_ARGS) $(if $(SAVE_EVERY),--save-every $(SAVE_EVERY))
PACK_SIZE = $(if $(SIZE),--size $(SIZE)) $(PACK_FLAGS)

ARGS_train = $(PACK_TRAIN) $(PACK_SIZE) $(if $(LIMIT),--limit $(LIMIT))
ARGS_val   = $(PACK_VAL) $(PACK_SIZE) $(if $(VAL_LIMIT),--limit $(VAL_LIMIT))
ARGS_prune = $(PACK_TRAIN) $(PACK_SIZE) --limit $(PRUNE_LIMIT)
PRUNE_SPD  = $(if $(PRUNE_LIMIT),$(OUT)/prune.spd,$(OUT)/train.spd)
TRAIN_SPD  = $(OUT)/train.spd
VAL_SPD    = $(OUT)/val.spd

ifeq ($(BASE),)
BASE_SPK   = $(OUT)/base.spk
ARGS_init  = --arch $(ARCH) --data $(TRAIN_SPD) $(if $(INPUT),--input $(INPUT)) $(NORM_ARGS) \
             --seed $(SEED)
ARGS_base  = --data $(TRAIN_SPD) --val $(VAL_SPD) --epochs $(BASE_EPOCHS) \
             --batch $(BASE_BATCH) --lr $(BASE_LR) --weight-decay $(BASE_WD) \
             --schedule $(BASE_SCHEDULE) $(TRAIN_OPTS) $(BASE_FLAGS) $(OUT)/init.spk
else ifneq ($(filter %.spk,$(BASE)),)
BASE_SPK   = $(BASE)
else
BASE_SPK   = $(OUT)/base.spk
ARGS_base  = --arch $(ARCH) $(if $(INPUT),--input $(call hw,$(INPUT))) $(NORM_ARGS) $(BASE)
endif

mask_args = --block $1 --data $(PRUNE_SPD) --val $(VAL_SPD) --rate $(RATE) --epochs $(EPOCHS) \
            --batch $(BATCH) $(if $(RECIPE),--recipe $(RECIPE)) $(if $(WINDOW),--window $(WINDOW)) \
            $(if $(BETA_RANGE),--beta-range $(BETA_RANGE)) $(TRAIN_OPTS) $(MASK_FLAGS) $2

# The block chain: block K prunes the output of the block before it.
_prev := $(BASE_SPK)
$(foreach k,$(BLOCKS),$(eval ARGS_mask_$k = $$(call mask_args,$k,$(_prev)))\
    $(eval ARGS_pruned_$k = $(OUT)/mask_$k.spk)$(eval _prev := $(OUT)/pruned_$k.spk))
PRUNED := $(_prev)

ARGS_final = --data $(TRAIN_SPD) --val $(VAL_SPD) --epochs $(FT_EPOCHS) --batch $(FT_BATCH) \
             --lr $(FT_LR) --weight-decay $(FT_WD) --schedule $(FT_SCHEDULE) $(TRAIN_OPTS) \
             $(FT_FLAGS) $(PRUNED)
FINAL = $(if $(filter 0,$(FT_EPOCHS)),$(PRUNED),$(OUT)/final.spk)
ARGS_eval = --data $(VAL_SPD) $(NET_ARGS)
ARGS_classes = $(TRAIN_SRC)

# ---- settings records
#
# $(call force,STAGE), a prerequisite: FORCE when the arguments the stage
# would run with differ from those recorded at its last start, so it reruns.
# $(call begin,STAGE), put in front of a stage's command, records the
# arguments the stage starts with (not under make -n or -q) and drops what a
# killed run left that does not belong to this run: a half-written file,
# a resume state made with other arguments or from older inputs.  So a
# resumed stage continues only its own run.
_eq      = $(and $(findstring x$1,x$2),$(findstring x$2,x$1))
recorded = $(strip $(file <$(OUT)/.settings/$1))
changed  = $(if $(call _eq,$(strip $(ARGS_$1)),$(call recorded,$1)),,changed)
force    = $(if $(call changed,$1),FORCE)
dry      = $(findstring n,$(firstword -$(MAKEFLAGS)))$(findstring q,$(firstword -$(MAKEFLAGS)))
begin    = $(if $(dry),,$(shell mkdir -p $(OUT)/.settings $(@D); rm -f $@.tmp-* $@.resume.tmp-*; \
             $(if $(call changed,$1),rm -f $@ $@.resume $(basename $@).log;) \
             for p in $(filter-out FORCE,$^); do [ ! -e $@.resume ] || [ ! "$$p" -nt $@.resume ] || \
                 rm -f $@.resume; done)$(file >$(OUT)/.settings/$1,$(strip $(ARGS_$1))))

# ---- the stages

$(TRAIN_SPD): $(wildcard $(TRAIN_SRC)) $(DATA_DEPS) $(call force,train)
	@test -e '$(TRAIN_SRC)' || { echo "$(NAME): no training data at '$(TRAIN_SRC)'; set DATA (sppipelines(7))" >&2; exit 1; }
	$(call begin,train)sp-pack $(strip $(ARGS_train)) --threads $(JOBS) -o $@

$(OUT)/prune.spd: $(wildcard $(TRAIN_SRC)) $(DATA_DEPS) $(call force,prune)
	$(call begin,prune)sp-pack $(strip $(ARGS_prune)) --threads $(JOBS) -o $@

# ImageNet: every class of the training source, sorted as sp-pack sorts
# them, labels both sets in the same order and keeps the network's class
# count when LIMIT packs only the first images (the first classes).
$(OUT)/classes.txt: $(wildcard $(TRAIN_SRC)) $(call force,classes)
	@test -e '$(TRAIN_SRC)' || { echo "$(NAME): no training data at '$(TRAIN_SRC)'; set DATA (sppipelines(7))" >&2; exit 1; }
	$(call begin,classes)if [ -d '$(TRAIN_SRC)' ]; then \
	    find '$(TRAIN_SRC)' -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; \
	else tar -tf '$(TRAIN_SRC)' | sed -n 's/\.tar$$//p'; fi | LC_ALL=C sort > $@.tmp && mv $@.tmp $@

$(VAL_SPD): $(wildcard $(VAL_SRC) $(VAL_LABELS)) $(DATA_DEPS) $(call force,val)
	@test -e '$(VAL_SRC)' || { echo "$(NAME): no validation data at '$(VAL_SRC)'; set DATA (sppipelines(7))" >&2; exit 1; }
	$(call begin,val)sp-pack $(strip $(ARGS_val)) --threads $(JOBS) -o $@

ifeq ($(BASE),)
$(OUT)/init.spk: $(TRAIN_SPD) $(call force,init)
	$(call begin,init)sp-init $(strip $(ARGS_init)) -o $@

$(OUT)/base.spk: $(OUT)/init.spk $(TRAIN_SPD) $(VAL_SPD) $(call force,base)
	$(call begin,base)sp-finetune $(strip $(ARGS_base) $(RUN_ARGS)) --log $(OUT)/base.log --resume -o $@
else ifeq ($(filter %.spk,$(BASE)),)
$(OUT)/base.spk: $(wildcard $(BASE)) $(call force,base)
	$(call begin,base)sp-import $(strip $(ARGS_base)) -o $@
endif

define block_rules
$(OUT)/mask_$1.spk: $2 $(PRUNE_SPD) $(VAL_SPD) $(call force,mask_$1)
	$$(call begin,mask_$1)sp-train-mask $$(strip $$(ARGS_mask_$1) $$(RUN_ARGS)) \
	    --log $(OUT)/mask_$1.log --resume -o $$@

$(OUT)/pruned_$1.spk: $(OUT)/mask_$1.spk $(call force,pruned_$1)
	$$(call begin,pruned_$1)sp-compress $$(ARGS_pruned_$1) -o $$@
endef
_prev := $(BASE_SPK)
$(foreach k,$(BLOCKS),$(eval $(call block_rules,$k,$(_prev)))$(eval _prev := $(OUT)/pruned_$k.spk))

$(OUT)/final.spk: $(PRUNED) $(TRAIN_SPD) $(VAL_SPD) $(call force,final)
	$(call begin,final)sp-finetune $(strip $(ARGS_final) $(RUN_ARGS)) --log $(OUT)/final.log --resume -o $@

# ---- what the report is made of

# sp-eval's accuracy, and its wall time over the validation set as the
# measured inference speed (loading, reading and normalising included).
define evaluate
$(call begin,$1)t0=$$(date +%s.%N); sp-eval --json $(strip $(ARGS_eval) $(THREAD_ARGS)) $< > $@.tmp; t1=$$(date +%s.%N); \
awk -v a=$$t0 -v b=$$t1 '{ sub(/} *$$/, sprintf(", \"seconds\": %.3f}", b - a)); print }' $@.tmp > $@; \
rm -f $@.tmp
endef
ARGS_eval_base  = $(ARGS_eval) $(BASE_SPK)
ARGS_eval_final = $(ARGS_eval) $(FINAL)

$(OUT)/base.eval.json: $(BASE_SPK) $(VAL_SPD) $(call force,eval_base)
	$(call evaluate,eval_base)
$(OUT)/final.eval.json: $(FINAL) $(VAL_SPD) $(call force,eval_final)
	$(call evaluate,eval_final)
ARGS_flops = --baseline $(BASE_SPK) $(FINAL)
ARGS_blocks_base = $(BASE_SPK)
ARGS_blocks_final = $(FINAL)

$(OUT)/flops.json: $(BASE_SPK) $(FINAL) $(call force,flops)
	$(call begin,flops)sp-flops --json $(ARGS_flops) > $@
$(OUT)/base.blocks.json: $(BASE_SPK) $(call force,blocks_base)
	$(call begin,blocks_base)sp-inspect --blocks --json $< > $@
$(OUT)/final.blocks.json: $(FINAL) $(call force,blocks_final)
	$(call begin,blocks_final)sp-inspect --blocks --json $< > $@

REPORT_VARS = NAME ARCH DATA BASE BLOCKS RATE EPOCHS BATCH WINDOW BETA_RANGE PRUNE_LIMIT \
              FT_EPOCHS FT_BATCH FT_LR FT_WD FT_SCHEDULE $(if $(BASE),,BASE_EPOCHS BASE_BATCH \
              BASE_LR BASE_WD BASE_SCHEDULE) LIMIT VAL_LIMIT SIZE INPUT MEAN STD AUGMENT SEED \
              DEVICE MASK_FLAGS FT_FLAGS BASE_FLAGS
REPORT_ARGS = $(strip $(foreach v,$(REPORT_VARS),$(if $($v),--setting '$(call q,$v=$(strip $($v)))')) \
              $(if $(REPORT_NOTE),--note '$(call q,$(strip $(REPORT_NOTE)))'))
ARGS_report = $(REPORT_ARGS)
REPORT_PARTS = $(OUT)/base.eval.json $(OUT)/final.eval.json $(OUT)/flops.json \
               $(OUT)/base.blocks.json $(OUT)/final.blocks.json

$(OUT)/report/report.html: $(BASE_SPK) $(FINAL) $(REPORT_PARTS) $(call force,report)
	$(call begin,report)logs=(); [ ! -e $(OUT)/base.log ] || logs+=(--train "baseline training=$(OUT)/base.log"); \
	for k in $(BLOCKS); do [ ! -e $(OUT)/mask_$$k.log ] || logs+=(--stage "block $$k=$(OUT)/mask_$$k.log"); done; \
	[ ! -e $(OUT)/final.log ] || logs+=(--train "fine-tuning=$(OUT)/final.log"); \
	sp-report --title '$(call q,Pruning report: $(NAME))' $(REPORT_ARGS) \
	    --eval-before $(OUT)/base.eval.json --eval-after $(OUT)/final.eval.json \
	    --flops $(OUT)/flops.json --blocks-before $(OUT)/base.blocks.json \
	    --blocks-after $(OUT)/final.blocks.json "$${logs[@]}" -o $(@D)

# ---- names to type

data: $(TRAIN_SPD) $(VAL_SPD)
base: $(BASE_SPK)
prune: $(PRUNED)
finetune: $(FINAL)
report: $(OUT)/report/report.html
	@sed -n '/^## Summary/,/^## Settings/p' $(OUT)/report/report.md | sed '$$d'
	@echo "$(NAME): report in $(OUT)/report/report.html and report.md"
all: report

help:
	@echo "make -f $(firstword $(MAKEFILE_LIST)) [TARGET] [VARIABLE=VALUE ...]"
	@echo "targets: data base prune finetune report (default) help clean, or any file:"
	@echo "  $(TRAIN_SPD) $(VAL_SPD) $(BASE_SPK)"
	@$(foreach k,$(BLOCKS),echo "  $(OUT)/mask_$k.spk $(OUT)/pruned_$k.spk";)
	@echo "  $(FINAL) $(OUT)/report/report.html"
	@echo "variables (now):"
	@$(foreach v,NAME OUT DATA BASE ARCH RECIPE BLOCKS RATE EPOCHS BATCH WINDOW BETA_RANGE \
	    FT_EPOCHS FT_BATCH FT_LR FT_WD FT_SCHEDULE LIMIT VAL_LIMIT PRUNE_LIMIT SIZE INPUT MEAN STD \
	    AUGMENT SEED DEVICE THREADS JOBS SAVE_EVERY SP_BIN,echo '  $v = $(call q,$($v))';)
	@echo "see: man -l man/man7/sppipelines.7"

clean:
	rm -rf $(OUT)

FORCE:
.PHONY: data base prune finetune report all help clean FORCE
