# demo.mk: the whole method on Fashion-MNIST, in minutes on two cores.
#
#   make demo                      (the top folder: installs, builds, runs this)
#   make -f pipelines/demo.mk      (once the programs are built)
#
# Packs Debian's Fashion-MNIST, trains a ResNet-20 baseline for two epochs
# (about 91 % top-1), prunes its three stages one after the other with
# sp-train-mask and sp-compress, fine-tunes the pruned network for one
# epoch and writes the report to out/demo/report/.  To fit the time, each
# stage trains on the first PRUNE_LIMIT training images for EPOCHS epochs,
# with a beta schedule of BETA_RANGE steps per entry so that the masks
# sharpen within those few hundred steps, and one threshold per layer
# (--sort layer, as the original's ResNet-50 and MobileNetV2 recipes): on so
# short a schedule the CIFAR ResNet recipe's one global threshold keeps one
# or two channels of the last stage's layers.  The published recipes (the
# other pipelines) train each stage on the whole training set for 8 epochs.
NAME          ?= demo
DATA          ?= /usr/share/datasets/fashion-mnist
DATA_FORM     ?= split
ARCH          ?= resnet20
INPUT         ?= 1x28x28
AUGMENT       ?= none
BASE_EPOCHS   ?= 2
BASE_BATCH    ?= 128
BASE_LR       ?= 0.1
BASE_WD       ?= 0.0005
BASE_SCHEDULE ?= cosine
RECIPE        ?= resnet-cifar10
BLOCKS        ?= 0 1 2
RATE          ?= 0.4
PRUNE_LIMIT   ?= 6000
EPOCHS        ?= 2
BATCH         ?= 32
BETA_RANGE    ?= 10
MASK_FLAGS    ?= --sort layer
FT_EPOCHS     ?= 1
FT_BATCH      ?= 128
FT_LR         ?= 0.01
FT_WD         ?= 0.0005
FT_SCHEDULE   ?= cosine
REPORT_NOTE   ?= The sp demo: Fashion-MNIST (60,000 training and 10,000 test images, \
  28x28 grey), a ResNet-20 trained for $(BASE_EPOCHS) epochs, its three stages pruned \
  one after the other keeping $(RATE) of the channels of every layer (--sort layer), \
  each stage training on the first $(PRUNE_LIMIT) training images for $(EPOCHS) epochs \
  (batch $(BATCH), beta schedule $(BETA_RANGE) steps per entry; the published recipes \
  use the whole training set for 8 epochs), then $(FT_EPOCHS) epoch of fine-tuning on \
  the whole training set.  Accuracy is measured on the 10,000 test images.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
