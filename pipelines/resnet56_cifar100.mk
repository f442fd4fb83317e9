# resnet56_cifar100.mk: ResNet-56 (option-A shortcuts, 100 classes) on CIFAR-100, pruned
# stage by stage (blocks 0-2) at rate 0.6.
#
#   make -f pipelines/resnet56_cifar100.mk DATA=cifar-100-binary.tar.gz BASE=resnet56_cifar100.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= resnet56_cifar100
ARCH        ?= resnet56
RECIPE      ?= resnet-cifar100
DATA_FORM   ?= split
BLOCKS      ?= 0 1 2
RATE        ?= 0.6
EPOCHS      ?= 8
BATCH       ?= 12
FT_EPOCHS   ?= 200
FT_BATCH    ?= 128
FT_SCHEDULE ?= step
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
