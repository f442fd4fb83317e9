# vgg16_imagenet.mk: torchvision's vgg16_bn on ImageNet, pruned layer by layer, fc6 and
# fc7 included (blocks 0-14).
#
#   make -f pipelines/vgg16_imagenet.mk DATA=~/imagenet BASE=vgg16_bn-6c64b313.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= vgg16_imagenet
ARCH        ?= vgg16
RECIPE      ?= vgg-imagenet
DATA_FORM   ?= imagenet
BLOCKS      ?= 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
RATE        ?= 0.2
EPOCHS      ?= 1
BATCH       ?= 64
FT_EPOCHS   ?= 200
FT_BATCH    ?= 64
FT_SCHEDULE ?= step
# BASE: torchvision's pretrained vgg16_bn weights file.  One pruning epoch
# per layer, as the original.
BASE_EPOCHS ?= 90
BASE_BATCH  ?= 256
BASE_WD     ?= 0.0001
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
