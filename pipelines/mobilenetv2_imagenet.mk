# mobilenetv2_imagenet.mk: torchvision's mobilenet_v2 on ImageNet, pruned block by block
# (blocks 1-7): the expanded channels of every inverted residual and the
# 1280 outputs of the last 1x1 convolution, one threshold per layer.
#
#   make -f pipelines/mobilenetv2_imagenet.mk DATA=~/imagenet BASE=mobilenet_v2-b0353104.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= mobilenetv2_imagenet
ARCH        ?= mobilenetv2
RECIPE      ?= mobilenetv2
DATA_FORM   ?= imagenet
BLOCKS      ?= 1 2 3 4 5 6 7
RATE        ?= 0.5
EPOCHS      ?= 4
BATCH       ?= 64
FT_EPOCHS   ?= 300
FT_BATCH    ?= 64
FT_SCHEDULE ?= cosine
# BASE: torchvision's pretrained mobilenet_v2 weights file.  Fine-tuning
# follows a cosine schedule over 300 epochs, as the original.
BASE_EPOCHS ?= 150
BASE_BATCH  ?= 256
BASE_WD     ?= 0.00004
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
