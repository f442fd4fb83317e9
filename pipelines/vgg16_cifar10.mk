# vgg16_cifar10.mk: VGG-16-BN with one linear head (512->10) on CIFAR-10, pruned layer by
# layer (blocks 0-12).
#
#   make -f pipelines/vgg16_cifar10.mk DATA=cifar-10-binary.tar.gz BASE=vgg16_cifar10.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= vgg16_cifar10
ARCH        ?= vgg16-cifar
RECIPE      ?= vgg-cifar10
DATA_FORM   ?= split
BLOCKS      ?= 0 1 2 3 4 5 6 7 8 9 10 11 12
RATE        ?= 0.3
EPOCHS      ?= 3
BATCH       ?= 12
FT_EPOCHS   ?= 200
FT_BATCH    ?= 8
FT_SCHEDULE ?= step
# The original fine-tunes with batch 8; it starts from its own trained VGG-16.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
