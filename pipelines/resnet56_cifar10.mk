# resnet56_cifar10.mk: ResNet-56 (3 stages of 9 basic blocks, option-A shortcuts) on
# CIFAR-10, pruned stage by stage (blocks 0-2): the first convolution of
# every basic block.
#
#   make -f pipelines/resnet56_cifar10.mk DATA=cifar-10-binary.tar.gz BASE=resnet56.th
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= resnet56_cifar10
ARCH        ?= resnet56
RECIPE      ?= resnet-cifar10
DATA_FORM   ?= split
BLOCKS      ?= 0 1 2
RATE        ?= 0.4
EPOCHS      ?= 8
BATCH       ?= 12
FT_EPOCHS   ?= 200
FT_BATCH    ?= 64
FT_SCHEDULE ?= step
# sp-import gives a CIFAR ResNet the ImageNet normalisation its published
# checkpoints were trained with; MEAN=... STD=... set another.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
