# vgg16_cifar100.mk: VGG-16-BN with the 512->4096->4096->100 head on CIFAR-100, pruned
# layer by layer, the two hidden linear layers included (blocks 0-14).
#
#   make -f pipelines/vgg16_cifar100.mk DATA=cifar-100-binary.tar.gz BASE=vgg16_cifar100.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= vgg16_cifar100
ARCH        ?= vgg16-cifar-fc
RECIPE      ?= vgg-cifar100
DATA_FORM   ?= split
BLOCKS      ?= 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
RATE        ?= 0.4
EPOCHS      ?= 3
BATCH       ?= 12
FT_EPOCHS   ?= 200
FT_BATCH    ?= 64
FT_SCHEDULE ?= step
# The recipe starts beta at 0.01 (vgg-cifar100).
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
