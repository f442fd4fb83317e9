/* test_exec_torch.c: the executor against PyTorch, on every CPU backend.
 *
 * tests/fixtures/gen_torch_fixtures.py wrote, with PyTorch's own modules
 * loaded from sp-init's weights, the logits of resnet20 and vgg16-cifar on
 * a fixed batch (evaluation and training mode) and the state of resnet20
 * after three SGD steps with momentum and weight decay.  This test rebuilds
 * the same weights (sp_arch_build + sp_arch_init_weights with the seed the
 * t_fixture names), runs the same computation through sp_exec on "ref" and
 * "cpu", and requires a relative error (max |a-b| / max |b|) below 1e-4. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sp/arch.h"
#include "sp/backend.h"
#include "sp/base.h"
#include "sp/exec.h"
#include "sp/model.h"
#include "sp/safetensors.h"
#include "testlib.h"

#define TOL 1e-4

static int fixture_read(t_fixture *f, const char *name)
{
    char *rel = sp_xasprintf("torch/%s", name);
    int rc = t_fixture_read(f, rel);
    free(rel);
    return rc;
}

static sp_model *network(const t_fixture *f)
{
    sp_arch_opts o = {10, 0, 0, 0};
    sscanf(t_fixture_meta(f, "input_size"), "%dx%dx%d", &o.in_c, &o.in_h, &o.in_w);
    sp_graph *g = sp_arch_build(t_fixture_meta(f, "arch"), &o);
    if (!g) {
        fprintf(stderr, "test_exec_torch: %s\n", sp_error());
        exit(1);
    }
    sp_model *m = sp_model_new(g);
    sp_arch_init_weights(m, strtoull(t_fixture_meta(f, "seed"), NULL, 10));
    return m;
}

static void compare(const char *name, const float *got, const sp_tensor *want)
{
    size_t n = (size_t)sp_tensor_numel(want);
    double err = t_rel_err(got, want->data, n);
    CHECKF(err < TOL, name, "relative error %.3g", err);
}

static void check_logits(sp_backend *b, const char *file, const char *tag)
{
    t_fixture f;
    if (fixture_read(&f, file) < 0)
        return;
    sp_model *m = network(&f);
    const sp_tensor *x = t_fixture_get(&f, "input");
    int n = (int)x->shape[0];
    float *z = sp_xmalloc((size_t)n * 10 * sizeof *z);
    char name[128];

    sp_exec *e = sp_exec_new(b, m, n, 0, 0);
    sp_exec_set_input(e, x->data, NULL, n);
    sp_exec_forward(e, 0);
    sp_exec_logits(e, z);
    snprintf(name, sizeof name, "torch_%s_logits_eval_%s", tag, b->name);
    compare(name, z, t_fixture_get(&f, "logits_eval"));
    sp_exec_free(e);

    e = sp_exec_new(b, m, n, 1, 0);
    sp_exec_set_input(e, x->data, NULL, n);
    sp_exec_forward(e, 1);
    sp_exec_logits(e, z);
    snprintf(name, sizeof name, "torch_%s_logits_train_%s", tag, b->name);
    compare(name, z, t_fixture_get(&f, "logits_train"));
    sp_exec_free(e);

    free(z);
    sp_model_free(m);
    t_fixture_free(&f);
}

static void check_sgd(sp_backend *b)
{
    t_fixture f;
    if (fixture_read(&f, "sgd.safetensors") < 0)
        return;
    sp_model *m = network(&f);
    const sp_tensor *x = t_fixture_get(&f, "input"), *y = t_fixture_get(&f, "labels");
    const sp_tensor *loss = t_fixture_get(&f, "loss");
    int n = atoi(t_fixture_meta(&f, "batch")), steps = atoi(t_fixture_meta(&f, "steps"));
    size_t per = (size_t)x->shape[1] * x->shape[2] * x->shape[3];
    sp_sgd_opts o = {(float)atof(t_fixture_meta(&f, "lr")), (float)atof(t_fixture_meta(&f, "momentum")),
                     (float)atof(t_fixture_meta(&f, "weight_decay")), 0};
    sp_exec *e = sp_exec_new(b, m, n, 1, 0);
    float got[16];
    char name[160];
    for (int s = 0; s < steps && s < 16; s++) {
        sp_exec_set_input(e, (const float *)x->data + (size_t)s * n * per,
                          (const int32_t *)y->data + (size_t)s * n, n);
        sp_exec_forward(e, 1);
        got[s] = sp_exec_loss(e);
        sp_exec_backward(e);
        sp_exec_sgd(e, &o);
    }
    snprintf(name, sizeof name, "torch_sgd_losses_%s", b->name);
    compare(name, got, loss);
    sp_exec_download(e, m);
    double worst = 0;
    const char *worst_name = "none";
    int count = 0;
    for (int i = 0; i < f.n; i++) {
        if (strncmp(f.t[i].name, "after/", 6) != 0)
            continue;
        const sp_tensor *t = sp_model_tensor(m, f.t[i].name + 6);
        if (!t || sp_tensor_numel(t) != sp_tensor_numel(&f.t[i])) {
            worst = 1e30;
            worst_name = f.t[i].name;
            continue;
        }
        double err = t_rel_err(t->data, f.t[i].data, (size_t)sp_tensor_numel(t));
        if (err >= worst) {
            worst = err;
            worst_name = f.t[i].name + 6;
        }
        count++;
    }
    snprintf(name, sizeof name, "torch_sgd_weights_after_%d_steps_%s", steps, b->name);
    CHECKF(count > 0 && worst < TOL, name, "relative error %.3g at %s", worst, worst_name);
    float *z = sp_xmalloc((size_t)n * 10 * sizeof *z);
    sp_exec_set_input(e, x->data, NULL, n);
    sp_exec_forward(e, 0);
    sp_exec_logits(e, z);
    snprintf(name, sizeof name, "torch_sgd_logits_eval_after_%s", b->name);
    compare(name, z, t_fixture_get(&f, "logits_eval"));
    free(z);
    sp_exec_free(e);
    sp_model_free(m);
    t_fixture_free(&f);
}

int main(void)
{
    const char *names[] = {"ref", "cpu"};
    for (int i = 0; i < 2; i++) {
        sp_backend *b = sp_backend_create(names[i]);
        if (!b) {
            printf("not ok torch_backend_%s - %s\n", names[i], sp_error());
            continue;
        }
        check_logits(b, "resnet20.safetensors", "resnet20");
        check_logits(b, "vgg16.safetensors", "vgg16");
        check_sgd(b);
        sp_backend_destroy(b);
    }
    return t_done();
}
