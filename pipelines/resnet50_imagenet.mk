# resnet50_imagenet.mk: torchvision's resnet50 on ImageNet, pruned group by group (blocks
# 0-3 = layer1-layer4): conv1 and conv2 of every bottleneck, one
# threshold per layer (--sort layer).  The original's README calls this
# network "ResNet-56".
#
#   make -f pipelines/resnet50_imagenet.mk DATA=~/imagenet BASE=resnet50-0676ba61.pth
#
# Defaults are the original's for this configuration (SP-ALGORITHM.md
# sections 3, 3a and 5; sp-method(7)); each can be overridden on the
# command line.  Variables and targets: sppipelines(7).
NAME        ?= resnet50_imagenet
ARCH        ?= resnet50
RECIPE      ?= resnet50-imagenet
DATA_FORM   ?= imagenet
BLOCKS      ?= 0 1 2 3
RATE        ?= 0.4
EPOCHS      ?= 4
BATCH       ?= 64
FT_EPOCHS   ?= 200
FT_BATCH    ?= 64
FT_SCHEDULE ?= step
# BASE: torchvision's pretrained resnet50 weights file.
BASE_EPOCHS ?= 90
BASE_BATCH  ?= 256
BASE_WD     ?= 0.0001
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
